"""The callback worker: pushes status events to the API clients' callback URLs (gateway.callbacks.delivery)."""

import logging
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from gateway.callbacks.delivery import DeliveryConfig, HttpPoster, callbacks_deliver, events_prune

log = logging.getLogger("gateway.callbacks")


class Command(BaseCommand):
    help = "Deliver status events to callback URLs until stopped (SIGTERM/SIGINT); --once for a single pass."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one pass over every client, then exit")

    def handle(self, *args, once: bool, **options):
        cfg = DeliveryConfig.from_settings()
        poster = HttpPoster(cfg.timeout)
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        last_prune = 0.0
        try:
            while True:
                try:
                    totals = callbacks_deliver(poster=poster, cfg=cfg)
                except Exception:  # the database away: log, wait, try again (nothing is lost: it is the outbox)
                    if once:
                        raise
                    log.exception("callback pass failed; retrying")
                    close_old_connections()
                    stop.wait(5)
                    if stop.is_set():
                        return
                    continue
                Path(settings.GATEWAY_CALLBACK_HEARTBEAT_FILE).touch()  # alive: `manage.py health callbacks`
                if once:
                    self.stdout.write(f"sent {totals['sent']}, failed {totals['failed']}, dead {totals['dead']}")
                    return
                if time.monotonic() - last_prune > 3600:
                    last_prune = time.monotonic()
                    events_prune(now=timezone.now(), days=settings.GATEWAY_EVENT_RETENTION_DAYS)
                close_old_connections()
                if not totals["sent"]:
                    stop.wait(settings.GATEWAY_CALLBACK_POLL_SECONDS)
                if stop.is_set():
                    return
        finally:
            poster.close()
