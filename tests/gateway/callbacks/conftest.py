"""Fixtures of the status-event tests: a client, its messages written straight to the table, a node, and a
local callback receiver built on the bundled client's `serve_callbacks`."""

import socket
import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from factories.gateway import TEST_SECRET, ApiClientFactory, CarrierNodeFactory

from gateway.apiclient import SmsApiClient, serve_callbacks
from gateway.models import Message, NoticeType

CALLBACK_PATH = "/sms/callbacks?tenant=xz"


@pytest.fixture
def node(contract):
    return CarrierNodeFactory(contract=contract, name="node-a")


@pytest.fixture
def make_client(contract):
    def _make(**fields):
        return ApiClientFactory(contract=contract, **fields)

    return _make


@pytest.fixture
def make_messages(contract):
    """make_messages(client, n, **fields) -> queued Message rows of that client."""
    notice_type = NoticeType.objects.get_or_create(code="violation", defaults={"name": "违法提醒"})[0]

    def _make(client, n=1, valid_for=timedelta(hours=24), ref="ref", **kw):
        now = timezone.now()
        rows = [
            Message(
                contract=contract,
                client=client,
                client_ref=f"{ref}-{client.pk}-{i}",
                notice_type=notice_type,
                mobile=f"139{i:08d}",
                content="【12123】您好",
                units=1,
                segments=1,
                created_at=now,
                valid_until=now + valid_for,
                **kw,
            )
            for i in range(n)
        ]
        return Message.objects.bulk_create(rows, batch_size=2000)

    return _make


class Receiver:
    """Collects verified events; `status` is what it answers (204 by the handler, or a forced error)."""

    def __init__(self, key: str):
        self.api = SmsApiClient("http://127.0.0.1:1", key, TEST_SECRET, callback_path=CALLBACK_PATH)
        self.events: list[dict] = []
        self.requests = 0
        self.fail = False
        self.lock = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = serve_callbacks(self.api, "127.0.0.1", self.port, self._take)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    def _take(self, events):
        with self.lock:
            self.requests += 1
            if self.fail:
                raise RuntimeError("receiver failing on purpose")
            self.events.extend(events)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def _make(key):
        r = Receiver(key)
        made.append(r)
        return r

    yield _make
    for r in made:
        r.close()


@pytest.fixture
def pushed_client(make_client, receiver):
    """() -> (an API client whose callback URL is a fresh local receiver, that receiver)."""

    def _make():
        client = make_client()
        recv = receiver(client.key_id)
        client.callback_url = recv.url
        client.save()
        return client, recv

    return _make
