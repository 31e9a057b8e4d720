"""The audit log: who changed what, before → after, for auditors and police; numbers masked for auditors."""

import pytest


@pytest.mark.django_db
def test_a_contract_change_shows_who_and_before_after(client_as, police_user, auditor_user, contract):
    from simple_history.utils import update_change_reason

    contract.bill_due_day = 16
    contract._history_user = police_user
    contract.save()
    update_change_reason(contract, "补充协议")
    page = client_as(auditor_user).get("/audit/?model=contracts.contract").content.decode()
    assert "police" in page and "修改" in page
    assert "账单提供日（次月几日前）" in page
    assert "15</span> → 16" in page
    assert "补充协议" in page


@pytest.mark.django_db
def test_auditor_sees_masked_numbers_in_the_page_and_the_csv(client_as, auditor_user, contract):
    from factories.assessment import ComplaintFactory

    ComplaintFactory(contract=contract, complainant_mobile="13912345678")
    client = client_as(auditor_user)
    page = client.get("/audit/").content.decode()
    assert "139****5678" in page and "13912345678" not in page
    export = client.get("/audit/audit-log.csv")
    body = export.content.decode("utf-8-sig")
    assert export["Content-Type"].startswith("text/csv")
    assert "139****5678" in body and "13912345678" not in body


@pytest.mark.django_db
def test_police_with_the_permission_see_full_numbers(client_as, police_user, contract):
    from factories.assessment import ComplaintFactory

    ComplaintFactory(contract=contract, complainant_mobile="13912345678")
    assert "13912345678" in client_as(police_user).get("/audit/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["carrier_user", "finance_user"])
def test_audit_log_is_refused_to_other_roles(request, role, client_as):
    client = client_as(request.getfixturevalue(role))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/audit-log.csv").status_code == 403


@pytest.mark.django_db
def test_auditor_opens_the_admin_history_of_a_contract_but_cannot_change_it(client_as, auditor_user, contract):
    client = client_as(auditor_user)
    history = client.get(f"/admin/contracts/contract/{contract.pk}/history/")
    assert history.status_code == 200
    response = client.post(f"/admin/contracts/contract/{contract.pk}/change/", {"number": "X"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_every_money_and_contract_model_is_audited():
    from portal.audit import audited_models

    labels = {m._meta.label for m in audited_models()}
    expected = {
        "contracts.Contract",
        "contracts.FormalNotice",
        "billing.Statement",
        "billing.Invoice",
        "billing.Payment",
        "assessment.Assessment",
        "gateway.MessageTemplate",
        "gateway.CarrierNode",
    }
    assert expected <= labels, expected - labels
