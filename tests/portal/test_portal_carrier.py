"""The carrier portal: bill upload (XHR JSON and plain form), reconciliation, tickets and complaints."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 11, 20, 10, 0, tzinfo=TZ)  # the 2025-10 bill was due on 2025-11-14
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def _csv(rows: list[str]) -> SimpleUploadedFile:
    return SimpleUploadedFile("bill-2025-10.csv", ("日期,条数\n" + "\n".join(rows) + "\n").encode(), "text/csv")


@pytest.fixture
def carrier_client(client_as, carrier_user):
    return client_as(carrier_user)


@pytest.mark.django_db
def test_xhr_upload_answers_json_and_the_reconciliation_page_compares_day_by_day(
    carrier_client, contract, daily_counts
):
    daily_counts({date(2025, 10, 1): (1000, 990), date(2025, 10, 2): (2000, 1990)})
    with time_machine.travel(NOW):
        response = carrier_client.post(
            "/portal/bills/upload/",
            {"contract": contract.pk, "period": "2025-10", "file": _csv(["2025-10-01,1000", "2025-10-02,2010"])},
            **XHR,
        )
    assert response.status_code == 201, response.content
    url = response.json()["url"]
    page = carrier_client.get(url).content.decode()
    assert "2025-10-02" in page and "2,010" in page and ">10<" in page  # their 2,010 vs our 2,000
    assert "3,010" in page and "3,000" in page  # totals
    assert "逾期提供" in page  # uploaded after 2025-11-14


@pytest.mark.django_db
def test_xhr_upload_with_bad_rows_lists_row_numbers_and_saves_nothing(carrier_client, contract):
    from billing.models import CarrierBill

    with time_machine.travel(NOW):
        response = carrier_client.post(
            "/portal/bills/upload/",
            {"contract": contract.pk, "period": "2025-10", "file": _csv(["2025-10-01,1000", "2025-10-02,abc"])},
            **XHR,
        )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_file"
    assert any(e["row"] == 3 for e in body["errors"])
    assert not CarrierBill.objects.exists()


@pytest.mark.django_db
def test_plain_form_upload_shows_the_error_table(carrier_client, contract):
    with time_machine.travel(NOW):
        response = carrier_client.post(
            "/portal/bills/upload/", {"contract": contract.pk, "period": "2025-10", "file": _csv(["x,1"])}
        )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="upload-errors"' in page and '<td class="num">2</td>' in page


@pytest.mark.django_db
def test_carrier_cannot_upload_for_another_carriers_contract(client_as, other_carrier_user, contract):
    with time_machine.travel(NOW):
        response = client_as(other_carrier_user).post(
            "/portal/bills/upload/",
            {"contract": contract.pk, "period": "2025-10", "file": _csv(["2025-10-01,1"])},
            **XHR,
        )
    assert response.status_code == 400 and response.json()["errors"][0]["column"] == "contract"


@pytest.mark.django_db
def test_other_carrier_cannot_see_the_bill(carrier_client, client_as, other_carrier_user, contract):
    with time_machine.travel(NOW):
        url = carrier_client.post(
            "/portal/bills/upload/",
            {"contract": contract.pk, "period": "2025-10", "file": _csv(["2025-10-01,5"])},
            **XHR,
        ).json()["url"]
    assert client_as(other_carrier_user).get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["police_user", "finance_user", "auditor_user"])
def test_portal_is_for_carrier_staff_only(request, role, client_as):
    assert client_as(request.getfixturevalue(role)).get("/portal/").status_code == 403


@pytest.mark.django_db
def test_carrier_answers_a_fault_ticket_step_by_step(carrier_client, contract):
    from factories.assessment import FaultTicketFactory

    reported = datetime.now(TZ) - timedelta(hours=1)
    ticket = FaultTicketFactory(contract=contract, reported_at=reported)
    assert carrier_client.post(f"/portal/tickets/{ticket.pk}/respond/", {"at": ""}).status_code == 302
    carrier_client.post(
        f"/portal/tickets/{ticket.pk}/recover/", {"at": "", "cause": "链路中断", "solution": "切换备用链路"}
    )
    ticket.refresh_from_db()
    assert ticket.responded_at is not None and ticket.recovered_at is not None
    assert ticket.cause == "链路中断"
    # a second response is refused with the service's message
    page = carrier_client.post(f"/portal/tickets/{ticket.pk}/respond/", {"at": ""}, follow=True).content.decode()
    assert "已记录" in page


@pytest.mark.django_db
def test_carrier_replies_to_and_resolves_a_complaint_with_masked_numbers(carrier_client, contract):
    from factories.assessment import ComplaintFactory

    complaint = ComplaintFactory(
        contract=contract, received_by="carrier", received_at=datetime.now(TZ) - timedelta(minutes=10)
    )
    page = carrier_client.get("/portal/").content.decode()
    assert "139****5678" in page and "13912345678" not in page
    carrier_client.post(f"/portal/complaints/{complaint.pk}/reply/", {"at": ""})
    carrier_client.post(
        f"/portal/complaints/{complaint.pk}/resolve/", {"at": "", "outcome": "已重发", "responsible_side": "carrier"}
    )
    complaint.refresh_from_db()
    assert complaint.first_reply_at is not None and complaint.resolved_at is not None
    assert complaint.outcome == "已重发" and complaint.responsible_side == "carrier"


@pytest.mark.django_db
def test_other_carrier_cannot_touch_the_ticket(client_as, other_carrier_user, contract):
    from factories.assessment import FaultTicketFactory

    ticket = FaultTicketFactory(contract=contract, reported_at=datetime.now(TZ) - timedelta(hours=1))
    assert client_as(other_carrier_user).post(f"/portal/tickets/{ticket.pk}/respond/", {}).status_code == 404
