"""Fixtures of the sender tests: carrier nodes and queued messages written straight to the table."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from gateway.crypto import encrypt_secret
from gateway.models import CarrierNode, Message, NoticeType

SIM_SECRET = "s3cret"
SIM_SP_ID = "901234"


@pytest.fixture
def notice_type(db):
    return NoticeType.objects.get_or_create(code="violation", defaults={"name": "违法提醒"})[0]


@pytest.fixture
def make_node(contract):
    def _make(name="node-a", port=7890, **kw):
        defaults = {"host": "127.0.0.1", "sp_id": SIM_SP_ID, "service_id": "JTXX", "source_number": "10691212300"}
        defaults.update(kw)
        return CarrierNode.objects.create(
            contract=contract, name=name, port=port, secret_encrypted=encrypt_secret(SIM_SECRET), **defaults
        )

    return _make


@pytest.fixture
def make_messages(contract, notice_type):
    """make_messages(n, content=..., valid_for=timedelta) -> the created Message rows (status queued)."""

    def _make(n=1, content="【12123】您的机动车有一条违法记录，请及时处理。", valid_for=timedelta(hours=24), **kw):
        now = timezone.now()
        units = max(1, -(-len(content) // 70)) if len(content) > 70 else 1
        segments = 1 if len(content) <= 70 else -(-len(content) // 67)
        rows = [
            Message(
                contract=contract,
                notice_type=notice_type,
                mobile=f"139{i:08d}",
                content=content,
                src_id="10691212300",
                units=units,
                segments=segments,
                created_at=now,
                valid_until=now + valid_for,
                **kw,
            )
            for i in range(n)
        ]
        return Message.objects.bulk_create(rows, batch_size=2000)

    return _make


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def free_port():
    """free_port() -> a TCP port on 127.0.0.1 nothing listens on right now."""
    return _unused_port


@pytest.fixture
def concurrent_writers():
    """For tests where several threads write at once: SQLite's shared-cache in-memory test database answers
    "table is locked" instead of waiting, so they run on PostgreSQL only (production and CI; the SQLite demo
    runs one sender)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        pytest.skip("concurrent writers from several threads need PostgreSQL")
