"""The admin saves tickets and complaints through the services (assessment.services): a rule only the service
has (no time after now; an outcome for a resolved complaint) comes back as a form error and writes nothing, and
a saved ticket has its clocks checked as the service does (a breach recorded at once)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from factories.assessment import ComplaintFactory, FaultTicketFactory

from assessment.models import Complaint, FaultTicket, SlaBreach

pytestmark = pytest.mark.django_db
TICKET_ADD = "/admin/assessment/faultticket/add/"
COMPLAINT_ADD = "/admin/assessment/complaint/add/"


def _dt(name, value):
    local = timezone.localtime(value) if value else None
    return {
        f"{name}_0": local.strftime("%Y-%m-%d") if local else "",
        f"{name}_1": local.strftime("%H:%M") if local else "",
    }


def ticket_form(contract, reported_at, **times):
    data = {"contract": contract.pk, "reported_by": "值班", "severity": "minor", "description": "节点中断"}
    data |= {"cause": "", "solution": ""} | _dt("reported_at", reported_at)
    for name in ("responded_at", "on_site_at", "recovered_at"):
        data |= _dt(name, times.get(name))
    return data


def complaint_form(contract, received_at, outcome="", **times):
    data = {"contract": contract.pk, "received_by": "police", "channel": "phone", "complainant_mobile": "",
            "subject": "收到重复短信", "responsible_side": "unknown", "assessment_part": "ops_timeliness",
            "outcome": outcome} | _dt("received_at", received_at)  # fmt: skip
    for name in ("passed_at", "first_reply_at", "resolved_at"):
        data |= _dt(name, times.get(name))
    return data


def test_a_ticket_time_in_the_future_is_a_form_error(client_as, police_user, contract):
    now = timezone.now()
    data = ticket_form(contract, now - timedelta(hours=1), recovered_at=now + timedelta(days=1))
    response = client_as(police_user).post(TICKET_ADD, data)
    assert response.status_code == 200
    assert "恢复时间不能晚于当前时间" in response.content.decode()
    assert not FaultTicket.objects.exists()


def test_a_late_ticket_saved_in_the_admin_has_its_breach_recorded(client_as, police_user, contract):
    data = ticket_form(contract, timezone.now() - timedelta(days=2))  # minor: 4 h to recover, long past
    assert client_as(police_user).post(TICKET_ADD, data).status_code == 302
    ticket = FaultTicket.objects.get()
    assert ticket.source == "manual"
    assert SlaBreach.objects.filter(ticket=ticket).exists()


def test_a_ticket_edit_goes_through_the_service_check(client_as, police_user, contract):
    ticket = FaultTicketFactory(contract=contract, reported_at=timezone.now() - timedelta(hours=3))
    url = f"/admin/assessment/faultticket/{ticket.pk}/change/"
    future = ticket_form(contract, ticket.reported_at, responded_at=timezone.now() + timedelta(hours=2))
    response = client_as(police_user).post(url, future)
    assert response.status_code == 200 and "响应时间不能晚于当前时间" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.responded_at is None
    ok = ticket_form(contract, ticket.reported_at, responded_at=ticket.reported_at + timedelta(minutes=20))
    assert client_as(police_user).post(url, ok).status_code == 302
    ticket.refresh_from_db()
    assert ticket.responded_at is not None


def test_a_resolved_complaint_without_outcome_is_a_form_error(client_as, police_user, contract):
    received = timezone.now() - timedelta(hours=2)
    data = complaint_form(contract, received, resolved_at=received + timedelta(minutes=30))
    response = client_as(police_user).post(COMPLAINT_ADD, data)
    assert response.status_code == 200 and "请填写处理结果" in response.content.decode()
    assert not Complaint.objects.exists()
    assert client_as(police_user).post(COMPLAINT_ADD, {**data, "outcome": "已解释并道歉"}).status_code == 302
    assert Complaint.objects.get().outcome == "已解释并道歉"


def test_a_complaint_edit_goes_through_the_service_check(client_as, police_user, contract):
    complaint = ComplaintFactory(contract=contract, received_at=timezone.now() - timedelta(hours=2))
    url = f"/admin/assessment/complaint/{complaint.pk}/change/"
    data = complaint_form(contract, complaint.received_at, resolved_at=complaint.received_at + timedelta(minutes=40))
    data |= {"subject": complaint.subject, "received_by": complaint.received_by}
    response = client_as(police_user).post(url, data)
    assert response.status_code == 200 and "请填写处理结果" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.resolved_at is None
