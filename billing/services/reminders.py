"""Reminders: the performance bond's refund date (5.2)."""

import logging
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

from billing.models import PerformanceBond
from billing.selectors import bond_refund_due_on
from sms_contract.money import format_fen_grouped

logger = logging.getLogger("billing.reminders")


def bond_refund_remind(*, today: date, within_days: int) -> tuple[int, int]:
    """Remind finance once of each bond whose refund falls due within `within_days`. The reminder counts as sent
    (`reminder_sent_on`) only once the mail server took it; with no finance user to mail or the server refusing,
    the reason is kept on the bond (admin: 履约保证金, 提醒失败原因) and the next run tries again.
    Returns (sent now, not sent)."""
    recipients = list(
        get_user_model()
        .objects.filter(groups__name="finance", is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    sent = unsent = 0
    for bond_id in PerformanceBond.objects.filter(refunded_on=None, reminder_sent_on=None).values_list("pk", flat=True):
        with transaction.atomic():
            bond = (
                PerformanceBond.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("contract")
                .filter(pk=bond_id, reminder_sent_on=None)
                .first()
            )
            if bond is None:
                continue
            due = bond_refund_due_on(contract=bond.contract)
            if due is None or due > today + timedelta(days=within_days):
                continue
            logger.warning(
                "bond refund due: contract=%s due_on=%s amount_fen=%s", bond.contract.number, due, bond.amount_fen
            )
            error = "" if recipients else "没有收件人：finance 组中没有填写电子邮箱的在职用户。"
            if recipients:
                try:
                    send_mail(*_bond_mail(bond, due), None, recipients)
                except OSError as exc:  # smtplib's errors are OSErrors, as are refused and timed-out connections
                    error = f"{type(exc).__name__}: {exc}"[:500]
            if error:
                bond.reminder_error = error
                bond.save(update_fields=["reminder_error"])
                logger.warning("bond refund reminder for %s not sent: %s", bond.contract.number, error)
                unsent += 1
                continue
            bond.reminder_sent_on, bond.reminder_error = today, ""
            bond.save(update_fields=["reminder_sent_on", "reminder_error"])
            sent += 1
    return sent, unsent


def _bond_mail(bond: PerformanceBond, due: date) -> tuple[str, str]:
    subject = f"履约保证金退还提醒：{bond.contract.number} 应于 {due} 无息退还"
    body = (
        f"合同 {bond.contract.number}（{bond.contract.name}）的履约保证金 {format_fen_grouped(bond.amount_fen)} 元"
        f"（{bond.get_form_display()}）于验收合格日 {bond.contract.accepted_on} 起 "
        f"{bond.contract.bond_refund_months} 个月后，即 {due}，应无息退还（合同 5.2）。"
    )
    return subject, body
