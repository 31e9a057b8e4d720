"""`runsender` started while PostgreSQL is away (a restart, a failover, the stack starting at once) waits for
the database instead of exiting with a traceback (issue 10, item 3; bench/chaos.py pg_restart found it)."""

import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from gateway.management.commands import runsender


def test_runsender_started_while_the_database_is_away_waits_for_it(monkeypatch, caplog):
    tries = []

    def database_away_twice(**kwargs):
        tries.append(kwargs)
        if len(tries) <= 2:
            raise OperationalError('connection to server at "127.0.0.1" failed: the database system is shutting down')
        return []  # the database answers: no node configured here, so the command stops with its own error

    monkeypatch.setattr(runsender, "node_specs", database_away_twice)
    monkeypatch.setattr(runsender, "START_WAIT_SECONDS", (0.01, 0.02))
    with caplog.at_level(logging.ERROR, logger="gateway.sender"), pytest.raises(CommandError, match="No enabled"):
        call_command("runsender", "--metrics-port", "-1")
    assert len(tries) == 3
    waits = [r.getMessage() for r in caplog.records if "database unreachable at start" in r.getMessage()]
    assert len(waits) == 2 and "shutting down" in waits[0]
