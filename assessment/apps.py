from django.apps import AppConfig

SLA_CHECK_TASK_NAME = "assessment: SLA clocks check"


def ensure_sla_check_schedule(**kwargs) -> None:
    """Create (or update) the beat entry for `sla_check_task`; safe to run after every migrate."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = settings.ASSESSMENT_SLA_CHECK_MINUTES
    schedule, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.update_or_create(
        name=SLA_CHECK_TASK_NAME,
        defaults={"task": "assessment.tasks.sla_check_task", "interval": schedule, "enabled": True},
    )


class AssessmentConfig(AppConfig):
    name = "assessment"
    verbose_name = "考核"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from assessment.receivers import outage_ticket_open
        from gateway.events import node_outage_started

        post_migrate.connect(ensure_sla_check_schedule, sender=self, dispatch_uid="assessment.sla_check_schedule")
        # The gateway reports outages; the assessment app turns each into one automatic fault ticket.
        node_outage_started.connect(outage_ticket_open, dispatch_uid="assessment.outage_ticket")
