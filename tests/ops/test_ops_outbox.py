"""The task outbox: a task asked for is published after the commit, kept in PostgreSQL when Redis is down (the
action still succeeds, quickly), and published later by the relay."""

import socket
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from django.conf import settings
from kombu.exceptions import OperationalError

from ops.models import PendingTask
from ops.services import outbox_relay, task_enqueue

TZ = ZoneInfo("Asia/Shanghai")
NOTIFY = "assessment.tasks.sla_breach_notify_task"


@pytest.fixture
def broker(monkeypatch):
    """A non-eager Celery app whose publishes are recorded; `broker.down = True` makes them fail like Redis down."""

    class FakeBroker:
        down = False
        published: list[tuple[str, list, dict]] = []

        def send_task(self, name, args=None, kwargs=None, **options):
            if self.down:
                raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")
            self.published.append((name, list(args or []), dict(kwargs or {})))

    fake = FakeBroker()
    fake.published = []
    app = Celery("outbox-test", set_as_current=False)
    app.conf.task_always_eager = False
    monkeypatch.setattr(app, "send_task", fake.send_task)
    monkeypatch.setattr("sms_contract.celery.app", app)
    return fake


@pytest.fixture
def redis_down(monkeypatch):
    """The real Redis transport pointed at a port where nothing listens (Redis stopped)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = Celery("redis-down-test", set_as_current=False)
    app.conf.update(  # the project's publish settings, the test settings' memory broker replaced
        broker_url=f"redis://:pw@127.0.0.1:{port}/1",
        broker_connection_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT,
        broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        task_publish_retry_policy=settings.CELERY_TASK_PUBLISH_RETRY_POLICY,
        task_always_eager=False,
    )
    monkeypatch.setattr("sms_contract.celery.app", app)
    return app


@pytest.mark.django_db
def test_a_task_is_published_after_the_commit_and_leaves_no_row(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        task_enqueue(NOTIFY, 7)
        assert broker.published == []  # nothing before the commit: the worker must find the committed rows
    for callback in callbacks:
        callback()
    assert broker.published == [(NOTIFY, [7], {})]
    assert PendingTask.objects.count() == 0


@pytest.mark.django_db
def test_with_the_broker_down_the_task_waits_in_the_database(broker, django_capture_on_commit_callbacks):
    broker.down = True
    with django_capture_on_commit_callbacks(execute=True):
        task_enqueue(NOTIFY, 7)
    row = PendingTask.objects.get()
    assert (row.task, row.args, row.attempts) == (NOTIFY, [7], 1)
    assert "Connection refused" in row.last_error


@pytest.mark.django_db
def test_the_relay_publishes_waiting_tasks_once_the_broker_is_back(broker, django_capture_on_commit_callbacks):
    broker.down = True
    with django_capture_on_commit_callbacks(execute=True):
        task_enqueue(NOTIFY, 1)
        task_enqueue(NOTIFY, 2)
    later = datetime.now(TZ) + timedelta(minutes=1)
    assert outbox_relay(now=later) == (0, 2)  # still down: both wait, nothing lost
    broker.down = False
    assert outbox_relay(now=datetime.now(TZ)) == (0, 2)  # too young: the publish after the commit owns them
    assert outbox_relay(now=later) == (2, 0)
    assert broker.published == [(NOTIFY, [1], {}), (NOTIFY, [2], {})]  # oldest first
    assert PendingTask.objects.count() == 0


@pytest.mark.django_db
def test_a_rolled_back_action_queues_nothing(broker, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        task_enqueue(NOTIFY, 7)
        raise RuntimeError("the action failed")
    assert broker.published == [] and PendingTask.objects.count() == 0


@pytest.mark.django_db
def test_enqueueing_with_redis_stopped_gives_up_within_seconds(redis_down, django_capture_on_commit_callbacks):
    """The real Redis transport, nothing listening: the publish fails fast and the row stays."""
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        task_enqueue(NOTIFY, 7)
    assert time.monotonic() - started < 5
    assert PendingTask.objects.get().attempts == 1


@pytest.mark.django_db
def test_a_portal_action_succeeds_with_redis_stopped(redis_down, client_as, carrier_user, contract):
    """The carrier answers a ticket late: the breach notice is queued for later and the page answers at once."""
    from factories.assessment import FaultTicketFactory

    from assessment.models import SlaBreach

    ticket = FaultTicketFactory(contract=contract, reported_at=datetime.now(TZ) - timedelta(hours=3))
    client = client_as(carrier_user)
    started = time.monotonic()
    response = client.post(f"/portal/tickets/{ticket.pk}/respond/", {"at": ""})
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    assert elapsed < 5
    assert SlaBreach.objects.filter(ticket=ticket).exists()
    assert PendingTask.objects.filter(task=NOTIFY).count() >= 1
