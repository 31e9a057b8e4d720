"""The admin reads as Chinese for its users: money in yuan with separators, JSON as small tables, times to the
second, 逾期 in red words rather than a tick, labels in Chinese (issue 12)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

pytestmark = pytest.mark.django_db


def test_a_statement_shows_yuan_with_separators_and_its_json_as_tables(contract, client_as, police_user):
    from billing.models import Statement

    s = Statement.objects.create(
        contract=contract, year=2025, month=10, number="JS-202510-0524-01", unit_price=Decimal("0.03"),
        units=4_216_000, gross_fen=12_648_000, payable_fen=12_648_000, billable_fen=12_648_000,
        net_due_fen=12_648_000, due_on=date(2025, 11, 17),
        daily_units={"2025-10-01": 136_000}, assessment_scores={"sending": 30, "emergency": 25},
    )  # fmt: skip
    page = client_as(police_user).get(f"/admin/billing/statement/{s.pk}/change/").content.decode()
    assert "126,480.00" in page and "12648000" not in page and "12,648,000" not in page
    assert "本期应付（元）" in page or "（元）" in page
    assert 'class="json-table"' in page
    assert "1 12123平台短信发送要求" in page  # the part's name from Annex 3, not its code
    assert '{"sending"' not in page and "136,000" in page


def test_a_late_carrier_bill_says_so_in_red_not_with_a_green_tick(contract, client_as, police_user):
    from billing.models import CarrierBill

    CarrierBill.objects.create(
        contract=contract, year=2025, month=10, kind="summary", filename="b.csv", due_on=date(2025, 11, 17),
        uploaded_at=datetime(2025, 11, 20, 8, 0, tzinfo=UTC), is_late=True, total_units=1,
    )  # fmt: skip
    page = client_as(police_user).get("/admin/billing/carrierbill/").content.decode()
    assert '<span class="flag-warn">逾期提供</span>' in page
    assert "icon-yes.svg" not in page


def test_message_times_show_seconds_and_labels_are_chinese(contract, client_as, police_user):
    from factories.gateway import MessageFactory

    m = MessageFactory(contract=contract, created_at=datetime(2026, 11, 30, 3, 18, 5, tzinfo=UTC), attempts=1)
    listing = client_as(police_user).get("/admin/gateway/message/?created=all").content.decode()
    assert "2026-11-30 11:18:05" in listing  # Asia/Shanghai, to the second
    detail = client_as(police_user).get(f"/admin/gateway/message/{m.pk}/change/").content.decode()
    for english in ("Attempts", "Finished at", "Notice type", "Contract:", "Client:", ">Node<", "Result"):
        assert english not in detail
    assert "尝试次数" in detail and "结束时间" in detail
    from gateway.models import DailyCount

    DailyCount.objects.create(contract=contract, day=date(2026, 11, 30), accepted_units=5)
    counts = client_as(police_user).get("/admin/gateway/dailycount/").content.decode()
    assert "受理计费条数" in counts and "Accepted units" not in counts
