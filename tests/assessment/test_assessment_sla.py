"""Fault tickets and complaints: services for the carrier portal and the gateway, SLA breaches and notices."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from factories.assessment import ComplaintFactory, FaultTicketFactory

from assessment import services
from assessment.apps import SLA_CHECK_TASK_NAME, ensure_sla_check_schedule
from assessment.models import FaultTicket, SlaBreach
from assessment.selectors import complaint_list_overdue
from sms_contract.exceptions import ApplicationError

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 10, 8, 1, 0, tzinfo=UTC)


def at(hours, minutes=0):
    return T0 + timedelta(hours=hours, minutes=minutes)


@pytest.fixture
def police_mail(police_user):
    police_user.email = "duty@police.example"
    police_user.save()
    return police_user.email


@pytest.fixture
def ticket(contract):
    return FaultTicketFactory(contract=contract, reported_at=T0, responded_at=at(0, 5))


def test_automatic_ticket_is_not_opened_twice_while_open(contract):
    first = services.fault_ticket_open_automatic(
        contract_id=contract.pk, severity="severe", description="全部节点中断", reported_at=T0
    )
    again = services.fault_ticket_open_automatic(
        contract_id=None, severity="severe", description="全部节点中断", reported_at=at(0, 10)
    )
    assert again.pk == first.pk
    assert (first.source, first.reported_by, first.severity) == ("automatic", "网关自动报修", "severe")
    other = services.fault_ticket_open_automatic(
        contract_id=contract.pk, severity="minor", description="节点2中断超过10分钟", reported_at=T0
    )
    assert other.pk != first.pk
    services.fault_ticket_recover(ticket=first, at=at(3), cause="机房断电", solution="切换备用电源")
    reopened = services.fault_ticket_open_automatic(
        contract_id=contract.pk, severity="severe", description="全部节点中断", reported_at=at(5)
    )
    assert reopened.pk not in (first.pk, other.pk)
    assert FaultTicket.objects.count() == 3


def test_carrier_steps_record_times_once_and_not_before_the_report(ticket):
    ticket = services.fault_ticket_arrive(ticket=ticket, at=at(1, 30))
    assert ticket.on_site_at == at(1, 30)
    with pytest.raises(ApplicationError) as exc:
        services.fault_ticket_arrive(ticket=ticket, at=at(1, 40))
    assert exc.value.code == "already_recorded"
    with pytest.raises(ApplicationError) as exc:
        services.fault_ticket_recover(ticket=ticket, at=at(-1))
    assert exc.value.extra["errors"] == {"recovered_at": ["恢复时间不能早于报修/受理时间。"]}
    ticket.refresh_from_db()
    assert ticket.recovered_at is None


def test_late_arrival_is_a_breach_notified_once(ticket, police_mail, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), time_machine.travel(at(2, 1), tick=False):
        services.fault_ticket_arrive(ticket=ticket)
    breach = SlaBreach.objects.get()
    assert (breach.ticket_id, breach.clock, breach.deadline) == (ticket.pk, "on_site", at(2))
    assert breach.emailed_at is not None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [police_mail]
    assert "到场" in mailoutbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        services.sla_check(now=at(3))
        services.sla_check(now=at(3, 5))
    assert SlaBreach.objects.count() == 1
    assert len(mailoutbox) == 1


def test_arrival_in_time_is_no_breach(ticket):
    with time_machine.travel(at(1, 59), tick=False):
        services.fault_ticket_arrive(ticket=ticket)
    assert not SlaBreach.objects.exists()
    assert services.sla_check(now=at(3, 59)) == []


@pytest.mark.parametrize(
    ("severity", "before", "after"),
    [("minor", at(3, 59), at(4, 1)), ("severe", at(23, 59), at(24, 1))],
)
def test_recovery_clock_breaches_exactly_after_its_limit(contract, severity, before, after, police_mail, mailoutbox,
                                                         django_capture_on_commit_callbacks):  # fmt: skip
    FaultTicketFactory(contract=contract, severity=severity, reported_at=T0, responded_at=at(0, 5), on_site_at=at(1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sla_check(now=before) == []
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True):
        [breach] = services.sla_check(now=after)
    assert breach.clock == "recovery"
    assert len(mailoutbox) == 1


def test_on_site_clock_with_a_frozen_clock(ticket):
    with time_machine.travel(at(1, 59), tick=False):
        assert services.sla_check_ticket(ticket=ticket) == []
    with time_machine.travel(at(2, 1), tick=False):
        assert [b.clock for b in services.sla_check_ticket(ticket=ticket)] == ["on_site"]


def test_unsent_notice_is_retried_by_the_periodic_check(ticket, police_user, mailoutbox,
                                                        django_capture_on_commit_callbacks):  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        services.sla_check(now=at(2, 1))  # nobody has an e-mail address yet
    assert SlaBreach.objects.get().emailed_at is None
    police_user.email = "duty@police.example"
    police_user.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.sla_check(now=at(2, 10))
    assert SlaBreach.objects.get().emailed_at is not None
    assert len(mailoutbox) == 1


def test_complaint_contact_clock_and_overdue_list(contract, police_mail, mailoutbox,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    received = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    complaint = ComplaintFactory(contract=contract, received_at=received, responsible_side="carrier")
    mine = ComplaintFactory(contract=contract, received_at=received, responsible_side="police")
    assert list(complaint_list_overdue(now=received + timedelta(minutes=59))) == []
    assert list(complaint_list_overdue(now=received + timedelta(minutes=61))) == [complaint]
    with django_capture_on_commit_callbacks(execute=True):
        [breach] = services.sla_check(now=received + timedelta(minutes=61))
    assert (breach.complaint_id, breach.clock, breach.duty) == (complaint.pk, "contact", "police")
    assert len(mailoutbox) == 1
    services.complaint_pass(complaint=complaint, at=received + timedelta(minutes=70))
    assert list(complaint_list_overdue(now=received + timedelta(hours=5))) == []
    assert mine.breaches.count() == 0


def test_complaint_passed_by_the_carrier_needs_a_first_reply_within_an_hour(contract):
    received = datetime(2025, 10, 9, 2, 0, tzinfo=UTC)
    with time_machine.travel(received, tick=False):
        complaint = services.complaint_open(
            contract=contract, received_at=received, received_by="carrier", subject="短信内容有误",
            complainant_mobile="13912345678", responsible_side="police",
        )  # fmt: skip
    with time_machine.travel(received + timedelta(minutes=20), tick=False):
        complaint = services.complaint_pass(complaint=complaint)
    assert list(complaint_list_overdue(now=received + timedelta(minutes=79))) == []
    assert list(complaint_list_overdue(now=received + timedelta(minutes=81))) == [complaint]
    with time_machine.travel(received + timedelta(minutes=90), tick=False):
        complaint = services.complaint_reply(complaint=complaint)
    assert [b.clock for b in complaint.breaches.all()] == ["first_reply"]
    with pytest.raises(ApplicationError) as exc:
        services.complaint_resolve(complaint=complaint, outcome=" ")
    assert exc.value.code == "invalid"
    done = services.complaint_resolve(complaint=complaint, outcome="已更正模板", at=received + timedelta(hours=3))
    assert done.outcome == "已更正模板" and done.resolved_at is not None


def test_complaint_open_refuses_bad_choices(contract):
    with pytest.raises(ApplicationError) as exc:
        services.complaint_open(contract=contract, received_at=T0, received_by="nobody", subject="x")
    assert "received_by" in exc.value.extra["errors"]


def test_breach_acknowledge(ticket, police_user):
    services.sla_check(now=at(2, 1))
    breach = SlaBreach.objects.get()
    services.sla_breach_acknowledge(breach=breach, by=police_user)
    breach.refresh_from_db()
    assert breach.acknowledged_by == police_user


def test_beat_entry_exists_after_migrate_and_is_idempotent():
    from django_celery_beat.models import PeriodicTask

    ensure_sla_check_schedule()
    ensure_sla_check_schedule()
    task = PeriodicTask.objects.get(name=SLA_CHECK_TASK_NAME)
    assert task.task == "assessment.tasks.sla_check_task"
    assert task.interval.every == 5


def test_sla_check_task_runs_the_service(ticket):
    from assessment.tasks import sla_check_task

    with time_machine.travel(at(2, 1), tick=False):
        assert sla_check_task.delay().get() == 1


def test_open_lists(contract, ticket):
    from assessment.selectors import complaint_list_open, fault_ticket_list_open

    open_complaint = ComplaintFactory(contract=contract)
    ComplaintFactory(contract=contract, resolved_at=datetime(2025, 10, 9, 3, tzinfo=UTC), outcome="已答复")
    assert list(complaint_list_open(contract_id=contract.pk)) == [open_complaint]
    assert list(fault_ticket_list_open(contract_id=contract.pk)) == [ticket]


# --- Registered after the fact (issue 12's demo year): the known times come with the ticket or complaint ------


def test_a_ticket_registered_after_the_fact_with_its_times_breaches_nothing(contract):
    with time_machine.travel(at(48), tick=False):
        ticket = services.fault_ticket_open(
            contract=contract,
            reported_at=at(0),
            reported_by="值班员",
            severity="minor",
            description="链路中断",
            responded_at=at(0, 9),
            on_site_at=at(1, 35),
            recovered_at=at(3, 20),
            cause="光缆",
            solution="熔接",
        )
    assert ticket.recovered_at == at(3, 20) and not SlaBreach.objects.exists()


def test_a_ticket_registered_late_without_its_response_time_is_breached(contract):
    with time_machine.travel(at(48), tick=False):
        services.fault_ticket_open(
            contract=contract, reported_at=at(0), reported_by="值班员", severity="minor", description="链路中断"
        )
    assert SlaBreach.objects.filter(clock="response").exists()


def test_after_the_fact_times_before_the_report_or_in_the_future_are_refused(contract):
    with time_machine.travel(at(2), tick=False):
        for field, moment in (("responded_at", at(-1)), ("recovered_at", at(5))):
            with pytest.raises(ApplicationError) as err:
                services.fault_ticket_open(
                    contract=contract,
                    reported_at=at(0),
                    reported_by="值班员",
                    severity="minor",
                    description="链路中断",
                    **{field: moment},
                )
            assert field in err.value.extra["errors"]
        with pytest.raises(ApplicationError) as err:
            services.complaint_open(
                contract=contract, received_at=at(0), received_by="police", subject="x", resolved_at=at(1)
            )
        assert "outcome" in err.value.extra["errors"]
    assert not FaultTicket.objects.exists()


def test_a_complaint_registered_after_the_fact_with_its_times_breaches_nothing(contract):
    with time_machine.travel(at(48), tick=False):
        complaint = services.complaint_open(
            contract=contract,
            received_at=at(0),
            received_by="police",
            subject="未收到短信",
            passed_at=at(0, 25),
            first_reply_at=at(0, 50),
            resolved_at=at(20),
            outcome="已说明",
        )
    assert complaint.resolved_at == at(20) and not SlaBreach.objects.exists()
