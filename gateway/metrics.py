"""Prometheus metrics of the gateway.

The sender process (`runsender`) updates the counters, histogram and node gauges below in the default
registry and serves them on `--metrics-port`. The web app's `/metrics` serves `QueueCollector`, which
reads the queue depth and the age of the oldest queued message from the database at each scrape.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from gateway.models import Message

NODE_STATES = ("up", "probation", "down")

SUBMITS = Counter("gateway_submits", "Messages submitted to the carrier (answer received)", ["node"])
SUBMIT_ERRORS = Counter(
    "gateway_submit_errors", "Submit answers other than 0, and submits without answer", ["node", "result"]
)
SUBMIT_LATENCY = Histogram(
    "gateway_submit_latency_seconds",
    "From handing a message to a session to its SUBMIT_RESP",
    ["node"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RECEIPTS = Counter("gateway_receipts", "Status reports received, by Stat", ["stat"])
UNMATCHED_REPORTS = Counter("gateway_unmatched_reports", "Status reports that matched no segment")
UPLINKS = Counter("gateway_uplinks", "Uplink (MO) messages received", ["opt_out"])
NODE_STATE = Gauge("gateway_node_state", "1 for the node's current state", ["node", "state"])
NODE_INFLIGHT = Gauge("gateway_node_inflight", "Messages handed to the node's session and not yet answered", ["node"])
SENDER_QUEUE_DEPTH = Gauge("gateway_queue_depth", "Messages queued in the database (status queued)")
SENDER_QUEUE_OLDEST = Gauge("gateway_queue_oldest_age_seconds", "Age of the oldest queued message")


def node_state_set(node: str, state: str) -> None:
    for name in NODE_STATES:
        NODE_STATE.labels(node=node, state=name).set(1 if name == state else 0)


def queue_stats() -> tuple[int, float]:
    """(queued messages, age in seconds of the oldest one) — both served by the queue's partial index."""

    queued = Message.objects.filter(status=Message.Status.QUEUED)
    depth = queued.count()
    oldest = queued.order_by("id").values_list("created_at", flat=True).first()
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return depth, age


class QueueCollector:
    """Computes the queue gauges at scrape time (for the web app's /metrics)."""

    def collect(self):
        depth, age = queue_stats()
        yield GaugeMetricFamily("gateway_queue_depth", "Messages queued in the database (status queued)", depth)
        yield GaugeMetricFamily("gateway_queue_oldest_age_seconds", "Age of the oldest queued message", age)


def web_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector())
    return generate_latest(registry)


def metrics_allowed(request) -> bool:
    """PUBLIC_METRICS, or the scraper's "Authorization: Bearer <METRICS_TOKEN>", or a signed-in staff user."""

    if settings.PUBLIC_METRICS:
        return True
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    user = getattr(request, "user", None)
    return bool(user and user.is_authenticated and user.is_staff)


def metrics_view(request):
    """GET /metrics of the web app: the queue gauges, computed now; 401 unless `metrics_allowed`."""

    if not metrics_allowed(request):
        response = JsonResponse(
            {"code": "not_authenticated", "detail": "Metrics need a bearer token (METRICS_TOKEN) or a staff login."},
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(web_metrics(), content_type=CONTENT_TYPE_LATEST)
