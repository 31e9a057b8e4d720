"""The web app's /metrics: queue depth and the oldest queued message's age, computed at the scrape."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from gateway.models import CarrierNode, Message


def test_web_metrics_show_the_queue(client, make_messages, settings):
    settings.METRICS_TOKEN = "scrape-token-for-tests"
    make_messages(3)
    Message.objects.filter(id=Message.objects.order_by("id").first().id).update(
        created_at=timezone.now() - timedelta(minutes=10)
    )
    body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-for-tests").content.decode()
    assert "gateway_queue_depth 3.0" in body
    age = float(next(line.split()[1] for line in body.splitlines() if line.startswith("gateway_queue_oldest_age")))
    assert 595 < age < 700


def test_setup_demo_nodes_is_idempotent(contract):
    call_command("setup_demo_nodes", "--count", "2")
    call_command("setup_demo_nodes", "--count", "2")
    assert list(CarrierNode.objects.values_list("name", "port")) == [("sim-node1", 7891), ("sim-node2", 7892)]
