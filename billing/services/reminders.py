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


@transaction.atomic
def bond_refund_remind(*, today: date, within_days: int) -> int:
    """Send one reminder per bond whose refund falls due within `within_days`; returns how many were sent."""
    recipients = list(
        get_user_model()
        .objects.filter(groups__name="finance", is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    sent = 0
    for bond in PerformanceBond.objects.select_related("contract").filter(refunded_on=None, reminder_sent_on=None):
        due = bond_refund_due_on(contract=bond.contract)
        if due is None or due > today + timedelta(days=within_days):
            continue
        subject = f"履约保证金退还提醒：{bond.contract.number} 应于 {due} 无息退还"
        body = (
            f"合同 {bond.contract.number}（{bond.contract.name}）的履约保证金 {format_fen_grouped(bond.amount_fen)} 元"
            f"（{bond.get_form_display()}）于验收合格日 {bond.contract.accepted_on} 起 "
            f"{bond.contract.bond_refund_months} 个月后，即 {due}，应无息退还（合同 5.2）。"
        )
        logger.warning(
            "bond refund due: contract=%s due_on=%s amount_fen=%s", bond.contract.number, due, bond.amount_fen
        )
        if recipients:
            send_mail(subject, body, None, recipients)
        bond.reminder_sent_on = today
        bond.save(update_fields=["reminder_sent_on"])
        sent += 1
    return sent
