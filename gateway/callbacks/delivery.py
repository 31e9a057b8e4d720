"""Callback delivery: the outbox's pending events POSTed to each client's callback URL.

Run by `manage.py runcallbacks` (its own process: the sender never waits for a client's server). Per client,
oldest first, up to GATEWAY_CALLBACK_BATCH (500) events per request, body `{"events": [...]}`, signed like the
requests the client sends us (`gateway.apiclient.signed_headers`: X-Api-Key = the client's key, the path of
the callback URL, the client's current secret). A 2xx answer acknowledges the whole request. Anything else, or
no answer within GATEWAY_CALLBACK_TIMEOUT_SECONDS, holds the client's queue and retries the same oldest events
after an exponential back-off with jitter (`retry_backoff`, the gateway's one `Backoff`); events that kept failing for
GATEWAY_CALLBACK_RETRY_HOURS are dead-lettered (visible and re-sendable in the admin) and the queue moves on.

A client's events go strictly in id order and one request at a time, so the events of one message arrive in
order. Delivery is at-least-once: a request whose 2xx answer is lost (or a worker killed before it records
the answer) is sent again with the same `event_id`s. On PostgreSQL several workers may run: a per-client
advisory lock keeps each client's queue with one of them.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from gateway import scheduling
from gateway.apiclient import signed_headers
from gateway.carrier.backoff import Backoff
from gateway.crypto import decrypt_secret
from gateway.models import ApiClient, CarrierNode, MessageEvent

log = logging.getLogger("gateway.callbacks")

PENDING = MessageEvent.Delivery.PENDING
_LOCK = 0x15_0000_0000  # + client id: one advisory lock per client
EVENT_FIELDS = ("id", "message_id", "client_ref", "status", "stat", "at", "units", "segments", "node_id")


@dataclass(frozen=True)
class DeliveryConfig:
    batch: int = 500
    timeout: float = 10.0
    retry_hours: float = 24.0
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    batches_per_client: int = 20  # per pass, so one busy client does not hold the others back

    @classmethod
    def from_settings(cls) -> DeliveryConfig:
        return cls(
            batch=max(1, min(500, settings.GATEWAY_CALLBACK_BATCH)),
            timeout=settings.GATEWAY_CALLBACK_TIMEOUT_SECONDS,
            retry_hours=settings.GATEWAY_CALLBACK_RETRY_HOURS,
            backoff_base=settings.GATEWAY_CALLBACK_BACKOFF_BASE_SECONDS,
            backoff_max=settings.GATEWAY_CALLBACK_BACKOFF_MAX_SECONDS,
        )


def retry_backoff(cfg: DeliveryConfig) -> Backoff:
    """The wait before retry n+1 (``.delay(n, rand)``): backoff_base × 2^n, at most backoff_max, times a random
    factor from 0.5 to 1 (docs/api.md). It is the gateway's one Backoff (gateway.carrier.backoff) centred on
    0.75 of that delay with a jitter of ±1/3, which spans exactly 0.5 to 1."""
    return Backoff(base=0.75 * cfg.backoff_base, factor=2.0, cap=0.75 * cfg.backoff_max, jitter=1 / 3)


class HttpPoster:
    """POSTs over kept-alive HTTP(S) connections, one per host. `post` returns (status or None, error text)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._conns: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def post(self, url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        path = _path(url)
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile: one fresh try
            conn = self._conns.get(key)
            fresh = conn is None
            if conn is None:
                if parts.scheme == "https":
                    conn = http.client.HTTPSConnection(
                        parts.netloc, timeout=self.timeout, context=ssl.create_default_context()
                    )
                else:
                    conn = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
                self._conns[key] = conn
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read(65536)
                if response.will_close:
                    self._drop(key)
                if 200 <= response.status < 300:
                    return response.status, ""
                snippet = answer[:120].decode("utf-8", "replace").strip()
                return response.status, f"HTTP {response.status} {response.reason} {snippet}".strip()[:300]
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                if fresh or attempt == 2 or isinstance(exc, TimeoutError):
                    return None, f"{type(exc).__name__}: {exc}"[:300]
        return None, "unreachable"

    def _drop(self, key) -> None:
        conn = self._conns.pop(key, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for key in list(self._conns):
            self._drop(key)


def _path(url: str) -> str:
    """The path the signature covers: the callback URL's path with its query string, as for requests to us."""
    parts = urllib.parse.urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def event_json(row: tuple, node_names: dict[int, str]) -> dict:
    """One event as the client sees it (docs/api.md "Status events"); `row` in EVENT_FIELDS order."""
    event_id, message_id, client_ref, status, stat, at, units, segments, node_id = row
    return {
        "event_id": str(event_id),
        "message_id": message_id,
        "client_ref": client_ref,
        "status": status,
        "stat": stat,
        "at": at.astimezone(scheduling.SHANGHAI).isoformat(timespec="milliseconds"),
        "units": units,
        "segments": segments,
        "node": node_names.get(node_id) if node_id else None,
    }


def node_names() -> dict[int, str]:
    return dict(CarrierNode.objects.values_list("id", "name"))


def callbacks_deliver(
    *,
    poster: HttpPoster,
    cfg: DeliveryConfig,
    now_fn: Callable[[], datetime] = timezone.now,
    rng: Callable[[], float] = random.random,
) -> dict[str, int]:
    """One pass over every enabled client with a callback URL. Returns counts: sent, failed, dead (events)."""
    totals = {"sent": 0, "failed": 0, "dead": 0}
    names = node_names()
    clients = ApiClient.objects.filter(enabled=True).exclude(callback_url="").order_by("pk")
    for client in clients.only("pk", "key_id", "secret_encrypted", "callback_url", "name"):
        for _ in range(cfg.batches_per_client):
            outcome = _deliver_batch(client, poster=poster, cfg=cfg, names=names, now_fn=now_fn, rng=rng)
            if outcome is None:
                break
            kind, count = outcome
            totals[kind] += count
            if kind != "sent" or count < cfg.batch:
                break
    return totals


def _deliver_batch(client: ApiClient, *, poster, cfg, names, now_fn, rng) -> tuple[str, int] | None:
    """The client's oldest pending events, if due, in one request. None when there was nothing to do."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK + client.pk])
                if not cursor.fetchone()[0]:
                    return None  # another worker has this client
        rows = list(
            MessageEvent.objects.filter(client_id=client.pk, delivery=PENDING)
            .order_by("id")
            .values_list(*EVENT_FIELDS, "attempts", "next_attempt_at", "first_failed_at")[: cfg.batch]
        )
        now = now_fn()
        if not rows or (rows[0][10] is not None and rows[0][10] > now):
            return None
        body = json.dumps(
            {"events": [event_json(row[:9], names) for row in rows]}, ensure_ascii=False, separators=(",", ":")
        ).encode()
        headers = signed_headers(
            client.key_id, decrypt_secret(client.secret_encrypted), "POST", _path(client.callback_url), body
        )
        headers["Content-Type"] = "application/json"
        status, error = poster.post(client.callback_url, body, headers)
        now = now_fn()
        ids = [row[0] for row in rows]
        events = MessageEvent.objects.filter(id__in=ids)
        if not error:
            events.update(delivery=MessageEvent.Delivery.SENT, sent_at=now, attempts=F("attempts") + 1, last_error="")
            return "sent", len(ids)
        since = Coalesce(F("first_failed_at"), Value(now), output_field=DateTimeField())
        cutoff = now - timedelta(hours=cfg.retry_hours)
        dead = [row[0] for row in rows if row[11] is not None and row[11] <= cutoff]
        if dead:
            # Events that kept failing for the whole retry period: dead letters; the rest of the batch is
            # retried at once in the next request, each with its own retry period.
            MessageEvent.objects.filter(id__in=dead).update(
                delivery=MessageEvent.Delivery.DEAD, attempts=F("attempts") + 1, last_error=error, next_attempt_at=None
            )
            events.exclude(id__in=dead).update(attempts=F("attempts") + 1, last_error=error, first_failed_at=since)
            log.error(
                "callback to client %s: %d events dead-lettered after %.0f h of failures: %s",
                client.name,
                len(dead),
                cfg.retry_hours,
                error,
            )
            return "dead", len(dead)
        attempt = rows[0][9] + 1
        delay = retry_backoff(cfg).delay(attempt - 1, rng())
        events.update(
            attempts=F("attempts") + 1,
            last_error=error,
            first_failed_at=since,
            next_attempt_at=now + timedelta(seconds=delay),
        )
        log.warning(
            "callback to client %s failed (attempt %d, %d events), retry in %.1f s: %s",
            client.name,
            attempt,
            len(ids),
            delay,
            error,
        )
        return "failed", len(ids)


def events_resend(*, ids: list[int] | None = None, client_id: int | None = None) -> int:
    """Dead letters back to the queue (the admin's re-send): by event ids or all of a client's. Returns how
    many. They keep their event_id; the client's retry clock starts again."""
    qs = MessageEvent.objects.filter(delivery=MessageEvent.Delivery.DEAD)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return qs.update(delivery=PENDING, next_attempt_at=None, first_failed_at=None, attempts=0)


def events_prune(*, now: datetime, days: int, limit: int = 20_000) -> int:
    """Delete events older than `days` that are settled (pushed, or pull-only); dead letters stay."""
    cutoff = now - timedelta(days=days)
    ids = list(
        MessageEvent.objects.filter(
            at__lt=cutoff, delivery__in=[MessageEvent.Delivery.SENT, MessageEvent.Delivery.NONE]
        ).values_list("id", flat=True)[:limit]
    )
    if ids:
        MessageEvent.objects.filter(id__in=ids).delete()
    return len(ids)
