"""After a PostgreSQL restart a web worker's kept connection (CONN_MAX_AGE) is dead. Django checks it at the
start of the next request (CONN_HEALTH_CHECKS) and opens a new one, so the first request after the restart is
served instead of answering 503 `database_unavailable` (bench/chaos.py pg_restart found one such 503)."""

import pytest
from django.db import close_old_connections, connection


@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_by_a_database_restart_is_replaced_at_the_next_request(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a server backend")
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)  # a kept connection, as in production
    connection.close()
    connection.ensure_connection()
    dead_pid = connection.connection.info.backend_pid

    import psycopg2

    params = connection.get_connection_params()
    with psycopg2.connect(**params) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dead_pid])  # what a restart does to every backend

    close_old_connections()  # Django does this when a request starts (request_started)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != dead_pid
