"""The dashboard at / for every role, with the figures computed from the gateway's daily counts."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=TZ)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["police_user", "carrier_user", "finance_user", "auditor_user"])
def test_every_role_gets_the_dashboard(request, role, client_as, contract):
    user = request.getfixturevalue(role)
    response = client_as(user).get("/")
    assert response.status_code == 200
    assert "仪表板" in response.content.decode()


@pytest.mark.django_db
def test_dashboard_figures(client_as, police_user, contract, daily_counts):
    contract.activated_on = date(2026, 1, 1)
    contract.save()
    days = {NOW.date() - timedelta(days=i): (10_000, 9_900) for i in range(40)}
    daily_counts(days)
    with time_machine.travel(NOW):
        page = client_as(police_user).get("/").content.decode()
    assert 'id="today-units">10,000<' in page
    assert "费用 ¥300.00" in page  # 10,000 units × 0.03
    assert 'id="month-units">100,000<' in page  # 1-10 March
    assert "99.00%" in page  # delivered / accepted this month
    assert 'id="month-no-report">0<' in page
    # consumed since activation: 40 days × 300.00 = 12,000.00; pace 300.00/day; 1,428,000.00 left -> 4760 days,
    # past the first term's end (2026-12-31): the forecast says so instead of a date
    assert 'id="consumed">¥12,000.00<' in page
    assert (NOW.date() + timedelta(days=4760)).isoformat() not in page
    assert "服务期内用不完" in page and "服务期至 2026-12-31" in page
    assert page.count('class="bar"') == 90
    assert "续展决定截止日" in page  # police see the lifecycle


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["police_user", "carrier_user", "finance_user", "auditor_user"])
def test_one_small_notice_gives_a_forecast_beyond_the_term_not_a_server_error(
    request, role, client_as, contract, daily_counts
):
    """Issue 12: after the README's one demo notice (2 units = 6 fen in 30 days) / answered 500 (date overflow)."""
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    daily_counts({NOW.date(): (2, 2)})
    with time_machine.travel(NOW):
        response = client_as(request.getfixturevalue(role)).get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "服务期内用不完" in page and "服务期至 2026-09-14" in page


@pytest.mark.django_db
def test_carrier_sees_masked_complainant_numbers_and_no_lifecycle(client_as, carrier_user, police_user, contract):
    from factories.assessment import ComplaintFactory

    ComplaintFactory(contract=contract, complainant_mobile="13912345678")
    carrier_page = client_as(carrier_user).get("/").content.decode()
    assert "139****5678" in carrier_page and "13912345678" not in carrier_page
    assert "续展决定截止日" not in carrier_page


@pytest.mark.django_db
def test_user_without_a_contract_gets_a_hint(make_user, client_as):
    page = client_as(make_user("carrier_staff", "lonely")).get("/").content.decode()
    assert "尚未关联任何合同" in page


@pytest.mark.django_db
def test_navigation_follows_the_role(client_as, carrier_user, police_user):
    carrier_page = client_as(carrier_user).get("/").content.decode()
    assert 'href="/portal/"' in carrier_page and 'href="/admin/"' not in carrier_page
    assert 'href="/finance/"' not in carrier_page
    police_page = client_as(police_user).get("/").content.decode()
    assert 'href="/admin/"' in police_page and 'href="/audit/"' in police_page


@pytest.mark.django_db
def test_dashboard_shows_each_nodes_last_recorded_state_and_the_delivery_chart(
    client_as, police_user, contract, daily_counts
):
    from factories.gateway import CarrierNodeFactory

    from gateway.models import NodeStateChange

    up = CarrierNodeFactory(contract=contract, name="徐州节点A")
    down = CarrierNodeFactory(contract=contract, name="徐州节点B")
    CarrierNodeFactory(contract=contract, name="徐州节点C")  # no state recorded yet
    NodeStateChange.objects.create(node=up, at=NOW - timedelta(hours=2), healthy=False, state="down", reason="超时")
    NodeStateChange.objects.create(node=up, at=NOW - timedelta(hours=1), healthy=True, state="up")
    NodeStateChange.objects.create(node=down, at=NOW - timedelta(minutes=5), healthy=False, state="down", reason="断连")
    daily_counts({NOW.date(): (1000, 985), NOW.date() - timedelta(days=1): (1000, 990)})
    with time_machine.travel(NOW):
        page = client_as(police_user).get("/").content.decode()
    nodes = page[page.index("网关节点状态") : page.index("未恢复的故障单")]
    assert nodes.index("徐州节点A") < nodes.index("可用") < nodes.index("徐州节点B") < nodes.index("断连")
    assert "未知" in nodes and "发送进程尚未记录状态" in nodes
    assert "98.50%" in page  # today's point in the delivery-rate chart
    assert page.count('class="dot"') == 2


@pytest.mark.django_db
def test_dashboard_counts_the_months_messages_without_a_status_report(client_as, police_user, contract, daily_counts):
    from gateway.models import DailyCount

    contract.activated_on = date(2026, 1, 1)
    contract.save()
    daily_counts({NOW.date() - timedelta(days=i): (10_000, 9_900) for i in range(40)})
    DailyCount.objects.filter(day=NOW.date()).update(no_report_messages=7)
    with time_machine.travel(NOW):
        page = client_as(police_user).get("/").content.decode()
    assert 'id="month-no-report">7<' in page


@pytest.mark.parametrize("value", ["abc", "99999999999999999999", "-1", "１"])
def test_dashboard_with_a_bad_contract_parameter_is_a_400_not_a_500(client_as, police_user, contract, value):
    response = client_as(police_user).get("/", {"contract": value})
    assert response.status_code == 400
    assert "invalid_contract" in response.content.decode()


@pytest.mark.django_db
def test_dashboard_shows_the_queue_by_priority_and_the_scheduled(client_as, police_user, contract):
    from factories.gateway import MessageFactory

    for rank, n in ((0, 1), (2, 3)):
        for _ in range(n):
            MessageFactory(contract=contract, priority=rank)
    MessageFactory(contract=contract, not_before=datetime(2026, 3, 11, 8, 0, tzinfo=TZ))
    MessageFactory(contract=contract, status="delivered")  # not queued: not counted
    page = client_as(police_user).get("/").content.decode()
    for name, n in (("urgent", 1), ("normal", 0), ("bulk", 3), ("scheduled", 1)):
        assert f'id="queue-{name}">{n}<' in page
