"""Deadline reminders: which offset is due (pure), and the daily task e-mails each reminder once."""

from datetime import date

import pytest
from django.core import mail

from contracts.rules import reminder_offset_due

OFFSETS = (30, 7, 1)
DEADLINE = date(2026, 6, 16)


@pytest.mark.parametrize(
    ("today", "offset"),
    [
        (date(2026, 5, 17), 30),
        (date(2026, 5, 16), None),  # 31 days before: nothing yet
        (date(2026, 5, 20), 30),  # 30 is already recorded by then; the service skips it
        (date(2026, 6, 9), 7),
        (date(2026, 6, 15), 1),
        (date(2026, 6, 16), 1),  # on the day
        (date(2026, 6, 17), None),  # too late
    ],
)
def test_reminder_offset_due(today, offset):
    assert reminder_offset_due(DEADLINE, today, OFFSETS) == offset


@pytest.fixture
def activated(contract):
    contract.activated_on = date(2025, 9, 15)  # renewal deadline 2026-06-16, term end 2026-09-14
    contract.save()
    return contract


@pytest.mark.django_db
def test_renewal_reminder_goes_to_police_once_per_offset(activated, make_user, settings):
    from contracts.models import DeadlineReminder
    from contracts.tasks import deadline_reminders_task

    police = make_user("police_staff", "p1", party=activated.purchaser)
    police.email = "police@example.cn"
    police.save()
    carrier = make_user("carrier_staff", "c1", party=activated.supplier)
    carrier.email = "carrier@example.cn"
    carrier.save()
    settings.CONTRACTS_REMINDER_KINDS = ["renewal_decision"]

    assert deadline_reminders_task("2026-05-17") == 1
    assert deadline_reminders_task("2026-05-18") == 0  # the 30-day reminder is not repeated
    assert deadline_reminders_task("2026-06-10") == 1  # the 7-day one
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == ["police@example.cn"]
    assert "2026-06-16" in mail.outbox[0].subject and "续展决定截止日" in mail.outbox[0].subject
    assert list(DeadlineReminder.objects.values_list("days_before", flat=True).order_by("days_before")) == [7, 30]


@pytest.mark.django_db
def test_bill_due_reminder_reaches_this_carriers_staff_only(activated, make_user, settings):
    from factories.contracts import ContractFactory

    from contracts.tasks import deadline_reminders_task

    other_carrier_user = make_user("carrier_staff", "c2", party=ContractFactory().supplier)

    carrier = make_user("carrier_staff", "c1", party=activated.supplier)
    carrier.email = "carrier@example.cn"
    carrier.save()
    other_carrier_user.email = "other@example.cn"
    other_carrier_user.save()
    settings.CONTRACTS_REMINDER_KINDS = ["bill_due"]
    # the 2025-10 bill is due 2025-11-14 (the 15th is a Saturday)
    assert deadline_reminders_task("2025-11-13") == 2  # the seed contract and the other carrier's
    ours = [m for m in mail.outbox if activated.number in m.subject]
    assert len(ours) == 1 and ours[0].to == ["carrier@example.cn"]
    assert "2025-10" in ours[0].body
    assert all("other@example.cn" not in m.to for m in ours)


@pytest.mark.django_db
def test_no_reminder_before_activation_except_bills(contract, settings):
    from contracts.tasks import deadline_reminders_task

    settings.CONTRACTS_REMINDER_KINDS = ["renewal_decision", "service_end"]
    assert deadline_reminders_task("2026-05-17") == 0


@pytest.mark.django_db
def test_the_daily_beat_entry_exists_after_migrate():
    from django_celery_beat.models import PeriodicTask

    from contracts.tasks import REMINDER_TASK, ensure_reminder_schedule

    task = PeriodicTask.objects.get(task=REMINDER_TASK)
    assert task.enabled and task.crontab.hour == "8"
    from django_celery_beat.models import CrontabSchedule

    ensure_reminder_schedule(CrontabSchedule, PeriodicTask)  # idempotent
    assert PeriodicTask.objects.filter(task=REMINDER_TASK).count() == 1


@pytest.fixture
def police_with_email(activated, make_user, settings):
    settings.CONTRACTS_REMINDER_KINDS = ["renewal_decision"]
    police = make_user("police_staff", "p1", party=activated.purchaser)
    police.email = "police@example.cn"
    police.save()
    return police


@pytest.mark.django_db
def test_a_reminder_the_mail_server_refused_is_not_recorded_as_sent_and_goes_out_later(
    police_with_email, refusing_smtp, settings
):
    from contracts.models import DeadlineReminder
    from contracts.tasks import deadline_reminders_task
    from sms_contract.celery import TryAgain

    with pytest.raises(TryAgain):  # the worker retries it with back-off
        deadline_reminders_task("2026-05-17")
    reminder = DeadlineReminder.objects.get()
    assert (reminder.status, reminder.sent_at, reminder.attempts) == ("failed", None, 1)
    assert "relaying denied" in reminder.last_error
    assert mail.outbox == []

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # the mail server is fixed
    assert deadline_reminders_task("2026-05-18") == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("sent", 2, "")
    assert reminder.sent_at is not None and reminder.recipients == "police@example.cn"
    assert len(mail.outbox) == 1 and "（剩 29 天）" in mail.outbox[0].subject
    assert deadline_reminders_task("2026-05-19") == 0  # delivered: never again


@pytest.mark.django_db
def test_a_reminder_with_nobody_to_send_it_to_is_a_visible_failure(activated, make_user, settings, admin_client):
    from contracts.models import DeadlineReminder
    from contracts.tasks import deadline_reminders_task
    from sms_contract.celery import TryAgain

    settings.CONTRACTS_REMINDER_KINDS = ["renewal_decision"]
    police = make_user("police_staff", "p1", party=activated.purchaser)  # no e-mail address
    with pytest.raises(TryAgain):
        deadline_reminders_task("2026-05-17")
    reminder = DeadlineReminder.objects.get()
    assert reminder.status == "failed" and reminder.sent_at is None
    page = admin_client.get("/admin/contracts/deadlinereminder/?status__exact=failed").content.decode()
    assert "发送失败" in page and "没有收件人" in page

    police.email = "police@example.cn"
    police.save()
    response = admin_client.post(
        "/admin/contracts/deadlinereminder/", {"action": "resend_now", "_selected_action": [reminder.pk]}
    )
    assert response.status_code == 302
    reminder.refresh_from_db()
    assert reminder.status == "sent" and mail.outbox[0].to == ["police@example.cn"]
