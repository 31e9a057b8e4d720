"""`python manage.py runsender`: send the queued messages through every enabled carrier node."""

import asyncio
import contextlib
import functools
import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError, connection

from gateway import wakeup
from gateway.models import CarrierNode
from gateway.sender import http
from gateway.sender.adapters import node_specs
from gateway.sender.ratelimit import SharedRate
from gateway.sender.runner import Sender, SenderSettings

log = logging.getLogger("gateway.sender")

START_WAIT_SECONDS = (0.5, 5.0)  # first and longest wait between tries


def wait_for_database(load):
    """load() once the database answers. A sender started while PostgreSQL is away (a restart, a failover, the
    whole stack starting at once) waits for it, trying again after 0.5, 1, 2, 4, then every 5 s, instead of
    exiting with a traceback; once running it pauses and resumes by itself (Sender._db_done)."""
    delay, cap = START_WAIT_SECONDS
    while True:
        try:
            return load()
        except (OperationalError, InterfaceError) as exc:
            log.error("database unreachable at start (%s): trying again in %.1f s", str(exc).strip(), delay)
            connection.close()
            time.sleep(delay)
            delay = min(cap, delay * 2)


class Command(BaseCommand):
    help = "Claim queued messages and submit them over CMPP to every enabled node, with failover."
    # A carrier link must not stay down because of, say, an admin or URL check of the web app.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--node", action="append", default=[], help="only this node (name; repeatable)")
        parser.add_argument("--metrics-host", default="127.0.0.1", help="address of /metrics and /healthz")
        parser.add_argument(
            "--metrics-port", type=int, default=settings.GATEWAY_SENDER_METRICS_PORT, help="0 picks a free port, -1 off"
        )
        parser.add_argument("--batch", type=int, default=None, help="messages per claim")
        parser.add_argument("--response-timeout", type=float, default=10.0, help="seconds before a SUBMIT is resent")
        parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds of silence before ACTIVE_TEST")

    def handle(self, *args, **opts):
        node_ids = None
        if opts["node"]:
            node_ids = wait_for_database(
                lambda: list(CarrierNode.objects.filter(name__in=opts["node"]).values_list("id", flat=True))
            )
            if len(node_ids) != len(set(opts["node"])):
                raise CommandError(f"unknown node among {opts['node']}")
        specs = wait_for_database(
            lambda: node_specs(
                node_ids=node_ids, response_timeout=opts["response_timeout"], heartbeat_interval=opts["heartbeat"]
            )
        )
        if not specs:
            raise CommandError("No enabled carrier node. Add one in the admin (运营商网关节点) first.")
        overrides = {"batch": opts["batch"]} if opts["batch"] else {}
        shared_rate = None
        if settings.REDIS_URL:  # node rate limits shared by every sender process
            import redis.asyncio as aioredis

            shared_rate = SharedRate(aioredis.Redis.from_url(settings.REDIS_URL))
        timeouts = {"response_timeout": opts["response_timeout"], "heartbeat_interval": opts["heartbeat"]}
        sender = Sender(
            specs,
            SenderSettings.from_django(**overrides),
            shared_rate=shared_rate,
            # Node changes in the admin reach the running sender within 5 s (a new node only without --node).
            spec_loader=functools.partial(node_specs, node_ids=node_ids, **timeouts),
        )
        self.stdout.write(f"sender {sender.owner}: nodes {', '.join(s.name for s in specs)}")
        asyncio.run(self._run(sender, opts["metrics_host"], opts["metrics_port"]))

    async def _run(self, sender, host, port):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        server = await http.serve(sender.health, host, port) if port >= 0 else None
        listener = asyncio.create_task(wakeup.listen(sender.wake, stop))
        try:
            await sender.run(stop)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
            if server is not None:
                server.close()
