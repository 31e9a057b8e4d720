"""Formal notices through the service and the admin: the 13.8.1 letter rule is enforced, 13.8.2 shown."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError

from contracts.models import FormalNotice
from contracts.selectors import contract_lifecycle
from contracts.services import formal_notice_create
from sms_contract.exceptions import ApplicationError

TZ = ZoneInfo("Asia/Shanghai")


def _fields(contract, **over):
    base = dict(
        sender=contract.purchaser,
        kind="other",
        method="email",
        subject="通知",
        sent_at=datetime(2026, 3, 2, 9, 0, tzinfo=TZ),
    )
    base.update(over)
    return base


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["fees", "breach", "termination", "renewal"])
@pytest.mark.parametrize("method", ["fax", "email"])
def test_service_refuses_kinds_1_to_4_by_fax_or_email(contract, kind, method):
    with pytest.raises(ApplicationError) as err:
        formal_notice_create(contract=contract, **_fields(contract, kind=kind, method=method))
    assert err.value.code == "notice_invalid"
    assert "13.8.1" in err.value.detail and "method" in err.value.extra["errors"]
    assert not FormalNotice.objects.exists()


@pytest.mark.django_db
def test_database_refuses_an_invalid_letter_kind_even_without_clean(contract):
    with pytest.raises(IntegrityError):
        FormalNotice.objects.create(contract=contract, **_fields(contract, kind="fees", method="fax"))


@pytest.mark.django_db
def test_service_records_a_letter_and_computes_its_delivered_time(contract, police_user):
    signed = datetime(2026, 3, 4, 15, 30, tzinfo=TZ)
    notice = formal_notice_create(
        contract=contract,
        created_by=police_user,
        **_fields(contract, kind="fees", method="registered_letter", received_at=signed),
    )
    assert notice.delivered_at == signed
    assert notice.history.count() == 1


@pytest.mark.django_db
def test_receipt_before_sending_and_foreign_sender_are_refused(contract):
    from factories.contracts import PartyFactory

    with pytest.raises(ApplicationError, match="签收/到达时间不能早于发出时间"):
        formal_notice_create(contract=contract, **_fields(contract, received_at=datetime(2026, 3, 1, 9, 0, tzinfo=TZ)))
    with pytest.raises(ApplicationError, match="发出方必须是本合同的甲方或乙方"):
        formal_notice_create(contract=contract, **_fields(contract, sender=PartyFactory()))


@pytest.mark.django_db
def test_delivered_non_renewal_notice_ends_the_service_and_a_refused_one_counts_at_sending(contract):
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    assert contract_lifecycle(contract, today=date(2026, 6, 20)).service_end is None
    # refused by the carrier: delivered at sending time (2026-06-16, exactly on the deadline)
    formal_notice_create(
        contract=contract,
        **_fields(
            contract,
            kind="renewal",
            method="courier",
            ends_service=True,
            sent_at=datetime(2026, 6, 16, 10, 0, tzinfo=TZ),
            failed_by_recipient=True,
        ),
    )
    lc = contract_lifecycle(contract, today=date(2026, 6, 20))
    assert lc.service_end == date(2026, 9, 14)
    assert lc.confidentiality_end == date(2028, 9, 14)


@pytest.mark.django_db
def test_non_renewal_signed_too_late_only_ends_the_next_term(contract):
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    sent = datetime(2026, 6, 15, 10, 0, tzinfo=TZ)
    formal_notice_create(
        contract=contract,
        **_fields(
            contract,
            kind="renewal",
            method="registered_letter",
            ends_service=True,
            sent_at=sent,
            received_at=sent + timedelta(days=2),  # signed 2026-06-17, one day after the deadline
        ),
    )
    assert contract_lifecycle(contract, today=date(2026, 7, 1)).service_end == date(2027, 9, 14)


@pytest.mark.django_db
def test_admin_shows_lifecycle_fields_and_refuses_an_email_breach_notice(contract, client_as, police_user):
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    client = client_as(police_user)
    with time_machine.travel(datetime(2026, 1, 10, 12, 0, tzinfo=TZ)):
        page = client.get(f"/admin/contracts/contract/{contract.pk}/change/").content.decode()
    assert "2025-09-15 至 2026-09-14" in page and "2026-06-16（剩 157 天）" in page
    assert "续展决定截止日" in page and "保密义务截止日" in page

    response = client.post(
        "/admin/contracts/formalnotice/add/",
        {
            "contract": contract.pk,
            "sender": contract.purchaser.pk,
            "kind": "breach",
            "method": "email",
            "subject": "违约通知",
            "sent_at_0": "2026-03-02",
            "sent_at_1": "09:00:00",
        },
    )
    assert response.status_code == 200
    assert "13.8.1" in response.content.decode()
    assert not FormalNotice.objects.exists()


@pytest.mark.django_db
def test_contract_list_shows_the_renewal_deadline(contract, client_as, police_user):
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    with time_machine.travel(datetime(2026, 1, 10, 12, 0, tzinfo=TZ)):
        page = client_as(police_user).get("/admin/contracts/contract/").content.decode()
    assert "2026-06-16（剩 157 天）" in page


@pytest.mark.django_db
def test_only_the_purchasers_stop_notice_sets_a_4_5_earliest_stop(contract):
    """4.5 binds 甲方 only (除乙方根据本合同约定终止本合同以外): 乙方's stop notice gives no 90-day date."""
    contract.activated_on = date(2025, 9, 15)
    contract.save()
    delivered = datetime(2026, 3, 4, 15, 30, tzinfo=TZ)
    formal_notice_create(
        contract=contract,
        **_fields(
            contract,
            sender=contract.supplier,
            kind="termination",
            method="courier",
            ends_service=True,
            received_at=delivered,
        ),
    )
    assert contract_lifecycle(contract, today=date(2026, 3, 10)).earliest_stop is None
    formal_notice_create(
        contract=contract,
        **_fields(
            contract,
            sender=contract.purchaser,
            kind="termination",
            method="courier",
            ends_service=True,
            sent_at=datetime(2026, 3, 5, 9, 0, tzinfo=TZ),
            received_at=datetime(2026, 3, 6, 10, 0, tzinfo=TZ),
        ),
    )
    assert contract_lifecycle(contract, today=date(2026, 3, 10)).earliest_stop == date(2026, 6, 4)


@pytest.mark.django_db
def test_the_admin_records_and_corrects_a_notice_through_the_service(contract, client_as, police_user):
    client = client_as(police_user)
    data = {"contract": contract.pk, "sender": contract.purchaser.pk, "kind": "fees", "method": "registered_letter",
            "subject": "付款通知", "summary": "", "tracking_number": "EMS-1", "note": "",
            "sent_at_0": "2026-03-02", "sent_at_1": "09:00:00", "received_at_0": "", "received_at_1": ""}  # fmt: skip
    assert client.post("/admin/contracts/formalnotice/add/", data).status_code == 302
    notice = FormalNotice.objects.get()
    assert notice.created_by == police_user
    # signed for before it was sent: refused by the service's check, shown on the form, nothing changed
    url = f"/admin/contracts/formalnotice/{notice.pk}/change/"
    early = {**data, "received_at_0": "2026-03-01", "received_at_1": "09:00:00"}
    response = client.post(url, early)
    assert response.status_code == 200 and "签收/到达时间不能早于发出时间" in response.content.decode()
    notice.refresh_from_db()
    assert notice.received_at is None
    ok = {**data, "received_at_0": "2026-03-04", "received_at_1": "15:00:00"}
    assert client.post(url, ok).status_code == 302
    notice.refresh_from_db()
    assert notice.received_at is not None and notice.created_by == police_user
