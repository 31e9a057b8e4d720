"""The admin: record and sign an assessment, locked ones read-only, clocks and masked numbers on the lists."""

from datetime import UTC, datetime

import pytest
from factories.assessment import FULL_SCORES, ComplaintFactory, FaultTicketFactory

from assessment.models import Assessment, FaultTicket, SlaBreach
from assessment.services import assessment_lock, assessment_sign

pytestmark = pytest.mark.django_db
ADD = "/admin/assessment/assessment/add/"


def form_data(contract, **overrides):
    data = {"contract": contract.pk, "year": 2025, "month": 10, "remarks": "", "change_reason": ""}
    data |= {f"score_{code}": score for code, score in FULL_SCORES.items()}
    data |= {f"reason_{code}": "" for code in FULL_SCORES}
    return data | overrides


def test_add_form_records_through_the_service(client_as, police_user, contract):
    client = client_as(police_user)
    page = client.get(ADD)
    assert page.status_code == 200
    assert "score_emergency" in page.content.decode()
    response = client.post(ADD, form_data(contract, score_sending=20, reason_sending="新增告知类型未开通"))
    assert response.status_code == 302, response.content.decode()[:3000]
    a = Assessment.objects.get()
    assert (a.total, str(a.payment_ratio), a.recorded_by) == (90, "1.00", police_user)
    assert a.reasons == {"sending": "新增告知类型未开通"}


def test_add_form_shows_errors_beside_the_fields(client_as, police_user, contract):
    client = client_as(police_user)
    response = client.post(ADD, form_data(contract, score_sending=31))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["score_sending"]
    response = client.post(ADD, form_data(contract, score_ops_timeliness=15))
    assert "得分低于满分" in str(response.context["adminform"].form.errors["reason_ops_timeliness"])
    assert not Assessment.objects.exists()


def test_change_page_shows_bands_evidence_and_suggestion(client_as, police_user, record, contract):
    FaultTicketFactory(contract=contract, reported_at=datetime(2025, 10, 8, 1, tzinfo=UTC))
    a = record(emergency=15)  # confirms the suggestion: 3 breached clocks × 5
    html = client_as(police_user).get(f"/admin/assessment/assessment/{a.pk}/change/").content.decode()
    assert "严重不足" in html and "付款比例" in html
    assert "故障单#" in html and "超时" in html
    assert "建议 15 分" in html
    assert "发送条数" in html and "—" in html  # the gateway has no figures yet


def test_sign_action_and_revision_needs_a_reason(client_as, police_user, record, contract):
    a = record()
    client = client_as(police_user)
    client.post("/admin/assessment/assessment/", {"action": "sign_selected", "_selected_action": [a.pk]})
    a.refresh_from_db()
    assert a.state == "signed" and a.signed_by == police_user
    url = f"/admin/assessment/assessment/{a.pk}/change/"
    response = client.post(url, form_data(contract, score_sending=25, reason_sending="x"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["change_reason"]
    response = client.post(url, form_data(contract, score_sending=25, reason_sending="x", change_reason="复核更正"))
    assert response.status_code == 302
    a.refresh_from_db()
    assert (a.version, a.state, a.total) == (2, "draft", 95)


def test_locked_assessment_cannot_be_changed_through_the_admin(client_as, police_user, record, contract):
    a = assessment_sign(assessment=record(), by=police_user)
    assessment_lock(assessment_id=a.pk)
    client = client_as(police_user)
    url = f"/admin/assessment/assessment/{a.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    response = client.post(url, form_data(contract, score_sending=0, reason_sending="x", change_reason="改"))
    assert response.status_code == 403
    a.refresh_from_db()
    assert (a.state, a.total, a.version) == ("locked", 100, 1)
    assert client.post(f"/admin/assessment/assessment/{a.pk}/delete/", {"post": "yes"}).status_code == 403


def test_finance_cannot_sign_in_the_admin(client_as, finance_user, record):
    a = record()
    client_as(finance_user).post("/admin/assessment/assessment/", {"action": "sign_selected",
                                                                    "_selected_action": [a.pk]})  # fmt: skip
    a.refresh_from_db()
    assert a.state == "draft"


def test_ticket_list_shows_coloured_clocks_and_unread_notice(client_as, police_user, contract):
    ticket = FaultTicketFactory(contract=contract)
    from assessment.services import sla_check

    sla_check()
    html = client_as(police_user).get("/admin/assessment/faultticket/").content.decode()
    assert "#b00020" in html and "超时" in html  # breached clocks in red
    assert f"有 {SlaBreach.objects.count()} 条超时提醒未阅" in html
    assert str(ticket) in html


def test_ticket_admin_refuses_times_before_the_report(client_as, police_user, contract):
    data = {"contract": contract.pk, "reported_at_0": "2025-10-08", "reported_at_1": "09:00", "reported_by": "值班",
            "severity": "minor", "description": "节点中断", "on_site_at_0": "2025-10-08", "on_site_at_1": "08:00",
            "responded_at_0": "", "responded_at_1": "", "recovered_at_0": "", "recovered_at_1": "",
            "cause": "", "solution": ""}  # fmt: skip
    response = client_as(police_user).post("/admin/assessment/faultticket/add/", data)
    assert response.status_code == 200
    assert "到达现场时间不能早于报修/受理时间" in response.content.decode()  # the service's words
    assert not FaultTicket.objects.exists()


def test_complaint_numbers_are_masked_without_permission(client_as, police_user, auditor_user, contract):
    complaint = ComplaintFactory(contract=contract, complainant_mobile="13912345678")
    assert "13912345678" in client_as(police_user).get("/admin/assessment/complaint/").content.decode()
    client = client_as(auditor_user)
    listing = client.get("/admin/assessment/complaint/").content.decode()
    assert "139****5678" in listing and "13912345678" not in listing
    page = client.get(f"/admin/assessment/complaint/{complaint.pk}/change/").content.decode()
    assert "139****5678" in page and "13912345678" not in page


def test_overdue_filter(client_as, police_user, contract):
    late = ComplaintFactory(contract=contract, responsible_side="unknown", subject="迟迟未联系对方")
    ComplaintFactory(contract=contract, responsible_side="police", subject="本方问题")
    html = client_as(police_user).get("/admin/assessment/complaint/?overdue=yes").content.decode()
    assert "迟迟未联系对方" in html and "本方问题" not in html
    assert str(late) in html


def test_breach_notices_can_be_acknowledged_in_the_admin(client_as, police_user, contract):
    from assessment.services import sla_check

    FaultTicketFactory(contract=contract)
    sla_check()
    client = client_as(police_user)
    unread = client.get("/admin/assessment/slabreach/?acknowledged=null").content.decode()
    assert "响应超时" in unread and "到场超时" in unread and "恢复超时" in unread
    ids = list(SlaBreach.objects.values_list("pk", flat=True))
    client.post("/admin/assessment/slabreach/", {"action": "acknowledge", "_selected_action": ids})
    assert not SlaBreach.objects.filter(acknowledged_at__isnull=True).exists()
    assert "条超时提醒未阅" not in client.get("/admin/assessment/faultticket/?recovered=null").content.decode()


def test_ticket_add_form_defaults_to_now_and_the_reporter(client_as, police_user):
    form = client_as(police_user).get("/admin/assessment/faultticket/add/").context["adminform"].form
    assert form.initial["reported_by"] == "police"
    assert form.initial["reported_at"] is not None
