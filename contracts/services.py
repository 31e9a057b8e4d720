"""Writes about contracts."""

import json
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from contracts.models import Contract, DeadlineReminder, FormalNotice, Party
from contracts.rules import reminder_offset_due
from contracts.scheme import validate_scheme
from contracts.selectors import contract_lifecycle
from contracts.signals import contract_deadlines
from sms_contract.exceptions import ApplicationError
from sms_contract.money import parse_yuan

logger = logging.getLogger("contracts.reminders")

SEED_DIR = Path(__file__).resolve().parent / "seed"
SEED_CONTRACT_NUMBER = "JSZC-320300-HWZX-D2025-0524"

_PARTY_FIELDS = ("kind", "address", "contact", "phone", "fax", "postcode", "email")
_CONTRACT_FIELDS = (
    "name",
    "signed_on",
    "payment_method",
    "prepayment_due_days",
    "bond_refund_months",
    "billing_unit_chars",
    "bill_due_day",
    "success_basis",
    "service_months",
    "auto_renew",
    "renewal_notice_days",
    "termination_notice_days",
    "confidentiality_years",
    "assessment_parts",
    "payment_ratio_bands",
)


def _party_upsert(data: dict) -> Party:
    party, _ = Party.objects.update_or_create(name=data["name"], defaults={k: data.get(k, "") for k in _PARTY_FIELDS})
    return party


@transaction.atomic
def contract_load(*, data: dict) -> tuple[Contract, bool]:
    """Create or update a contract from its data description (idempotent). Returns (contract, created)."""
    validate_scheme(data["assessment_parts"], data["payment_ratio_bands"])
    defaults = {k: data[k] for k in _CONTRACT_FIELDS if k in data}
    defaults.update(
        purchaser=_party_upsert(data["purchaser"]),
        supplier=_party_upsert(data["supplier"]),
        unit_price=Decimal(data["unit_price"]),
        total_amount_fen=parse_yuan(data["total_amount"]),
        prepayment_rate=Decimal(data["prepayment_rate"]),
        bond_rate=Decimal(data["bond_rate"]),
        late_fee_daily_rate=Decimal(data.get("late_fee_daily_rate", "0")),
    )
    contract, created = Contract.objects.update_or_create(number=data["number"], defaults=defaults)
    contract.full_clean()
    return contract, created


def contract_load_file(*, path: Path) -> tuple[Contract, bool]:
    return contract_load(data=json.loads(Path(path).read_text(encoding="utf-8")))


def contract_load_seed() -> Contract:
    contract, _ = contract_load_file(path=SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json")
    return contract


@transaction.atomic
def formal_notice_create(*, contract: Contract, created_by=None, **fields) -> FormalNotice:
    """Record a formal notice (13.8). A notice of kinds (1)–(4) sent by fax or e-mail is refused (13.8.1)."""
    notice = FormalNotice(contract=contract, created_by=created_by, **fields)
    _notice_check(notice)
    notice.save()
    return notice


@transaction.atomic
def formal_notice_update(*, notice: FormalNotice, **fields: object) -> FormalNotice:
    """Correct a recorded notice (the admin: e.g. the date it was signed for), checked as when recording it."""
    notice = FormalNotice.objects.select_for_update().get(pk=notice.pk)
    for name, value in fields.items():
        setattr(notice, name, value)
    _notice_check(notice)
    notice.save()
    return notice


def _notice_check(notice: FormalNotice) -> None:
    try:
        notice.full_clean()
    except ValidationError as exc:
        detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
        errors = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        raise ApplicationError("notice_invalid", detail, extra={"errors": errors}) from exc


# --- Deadline reminders (renewal decision, bill due date, bond refund, service end) ---------------

REMINDER_RECIPIENT_GROUPS = {
    "renewal_decision": ("police_staff",),
    "bill_due": ("police_staff", "carrier_staff"),
    "bond_refund": ("finance",),
    "service_end": ("police_staff", "finance"),
}


def _deadlines(contract: Contract, today: date) -> list[tuple[str, date, str]]:
    """(kind, deadline, what) of the contract's coming deadlines: the lifecycle's own (renewal decision,
    service end) and those the apps above answer through `contracts.signals.contract_deadlines` (billing: the
    carrier's bill due date, the bond refund)."""
    out: list[tuple[str, date, str]] = []
    lc = contract_lifecycle(contract, today=today)
    if lc.current_term is not None:
        if lc.renews:
            out.append(
                ("renewal_decision", lc.renewal_deadline, "不续展的书面通知须在此日前送达（12.2），否则自动续展一年")
            )
        end = lc.service_end or lc.current_term.end
        out.append(("service_end", end, "服务期届满（不再续展）" if lc.service_end else "当前服务期届满（将自动续展）"))
    for _receiver, answer in contract_deadlines.send(sender=Contract, contract=contract, today=today):
        out.extend(cast(list[tuple[str, date, str]], answer or []))
    return out


def _recipients(contract: Contract, kind: str) -> list[str]:
    """E-mails of the groups concerned; carrier staff only when they belong to this contract's carrier."""

    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=REMINDER_RECIPIENT_GROUPS[kind])
        .exclude(email="")
        .prefetch_related("groups")
        .distinct()
    )
    members = set(contract.supplier.members.values_list("pk", flat=True))
    return sorted({u.email for u in users if u.pk in members or all(g.name != "carrier_staff" for g in u.groups.all())})


def deadline_reminders_send(*, today, offsets: tuple[int, ...], kinds: tuple[str, ...]) -> tuple[list, list]:
    """E-mail each due reminder until it is delivered (one `DeadlineReminder` per deadline and offset).

    A reminder counts as sent only once the mail server took it. One with nobody to send it to, or refused by the
    server, stays unsent with the reason (admin: 合同 → 期限提醒, 发送失败) and is tried again by the next run
    (the task retries within minutes, beat runs it daily). Returns (delivered now, still undelivered)."""

    delivered, undelivered = [], []
    for contract in Contract.objects.filter(terminated_on=None).select_related("supplier"):
        for kind, deadline, what in _deadlines(contract, today):
            if kind not in kinds:
                continue
            offset = reminder_offset_due(deadline, today, offsets)
            if offset is None:
                continue
            reminder, _ = DeadlineReminder.objects.get_or_create(
                contract=contract, kind=kind, deadline=deadline, days_before=offset, defaults={"message": what[:300]}
            )
            if reminder.status == DeadlineReminder.Status.SENT:
                continue
            if deadline_reminder_deliver(reminder_id=reminder.pk, today=today):
                delivered.append(reminder)
            else:
                undelivered.append(reminder)
    return delivered, undelivered


@transaction.atomic
def deadline_reminder_deliver(*, reminder_id: int, today) -> bool:
    """Send one reminder now; record it as sent only if the mail server took it, else record why not.
    The row stays locked while sending, so two runs at once (a redelivered task) never mail it twice."""

    reminder = (
        DeadlineReminder.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contract")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None or reminder.status == DeadlineReminder.Status.SENT:
        return False
    contract = reminder.contract
    recipients = _recipients(contract, reminder.kind)
    reminder.attempts += 1
    reminder.last_attempt_at = timezone.now()
    reminder.recipients = ", ".join(recipients)
    fields = ["attempts", "last_attempt_at", "recipients", "status", "last_error", "sent_at"]
    if not recipients:
        groups = "、".join(REMINDER_RECIPIENT_GROUPS[reminder.kind])
        reminder.status = DeadlineReminder.Status.FAILED
        reminder.last_error = f"没有收件人：{groups} 组中没有填写电子邮箱的在职用户。"
        reminder.save(update_fields=fields)
        logger.warning("reminder %s (%s %s): nobody to send it to", reminder.pk, contract.number, reminder.kind)
        return False
    label, days_left = reminder.get_kind_display(), (reminder.deadline - today).days
    subject = f"【期限提醒】{contract.number} {label}：{reminder.deadline.isoformat()}（剩 {days_left} 天）"
    body = f"合同 {contract.number}（{contract.name}）\n{label}：{reminder.deadline.isoformat()}\n{reminder.message}\n"
    try:
        send_mail(subject, body, None, recipients)
    except OSError as exc:  # smtplib's errors are OSErrors, as are refused and timed-out connections
        reminder.status = DeadlineReminder.Status.FAILED
        reminder.last_error = f"{type(exc).__name__}: {exc}"[:500]
        reminder.save(update_fields=fields)
        logger.warning("reminder %s (%s %s): the mail server refused it: %s", reminder.pk, contract.number, label, exc)
        return False
    reminder.status, reminder.last_error, reminder.sent_at = DeadlineReminder.Status.SENT, "", timezone.now()
    reminder.save(update_fields=fields)
    return True
