"""Shared fixtures. Test files have unique basenames (no __init__.py in test folders);
factories live in tests/factories/ and import as `factories.<app>`."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from contracts.roles import STAFF_ROLES, sync_roles

# Property tests judge behaviour, not speed: no per-example deadline (a loaded CI machine made them flaky).
hypothesis_settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("project")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded bills and stored statement PDFs go to the test's own folder, never the project's media/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def contract(db):
    """The seed contract, loaded from its data file."""
    from contracts.services import contract_load_seed

    return contract_load_seed()


@pytest.fixture
def make_user(db):
    """make_user("police_staff") -> a user in that role (staff flag per role), members of the contract side."""

    def _make(role: str | None = None, username: str | None = None, party=None):
        sync_roles()
        User = get_user_model()
        name = username or f"{role or 'plain'}-user-{User.objects.count() + 1}"
        user = User.objects.create_user(username=name, password="pw-for-tests-1")
        if role:
            user.groups.add(Group.objects.get(name=role))
            user.is_staff = role in STAFF_ROLES
            user.save(update_fields=["is_staff"])
        if party is not None:
            party.members.add(user)
        return user

    return _make


@pytest.fixture
def police_user(make_user, contract):
    return make_user("police_staff", "police", party=contract.purchaser)


@pytest.fixture
def carrier_user(make_user, contract):
    return make_user("carrier_staff", "carrier", party=contract.supplier)


@pytest.fixture
def finance_user(make_user, contract):
    return make_user("finance", "finance", party=contract.purchaser)


@pytest.fixture
def auditor_user(make_user):
    return make_user("auditor", "auditor")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def client_as(client):
    """client_as(user) -> Django test client logged in as user."""

    def _as(user):
        client.force_login(user)
        return client

    return _as


@pytest.fixture
def api_as():
    """api_as(user) -> DRF APIClient authenticated as user."""

    def _as(user):
        c = APIClient()
        c.force_authenticate(user)
        return c

    return _as


@pytest.fixture
def refusing_smtp(settings):
    """A real SMTP server on loopback that refuses every message (550 at MAIL FROM); the settings point at it."""
    import socketserver
    import threading

    class Refuse(socketserver.StreamRequestHandler):
        def handle(self):
            self.wfile.write(b"220 refusing.test ESMTP\r\n")
            for line in self.rfile:
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.wfile.write(b"250 refusing.test\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                elif verb == b"RSET" or verb == b"NOOP":
                    self.wfile.write(b"250 ok\r\n")
                else:
                    self.wfile.write(b"550 5.7.1 relaying denied\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Refuse)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()
