"""HMAC-SHA256 request signing for API clients (docs/api.md, "Authentication").

A request carries X-Api-Key, X-Timestamp, X-Nonce and X-Signature; the signature covers the method, the path
with its query string, the timestamp, the nonce and the SHA-256 of the raw body (`gateway.apiclient.sign`).
Each failure answers 401 with its own `code`, except that an unknown key, a disabled key and a wrong
signature all answer `bad_signature` (a disabled client hears `client_disabled` only once its signature
verifies), so key ids cannot be probed (ADR 0086). Nonces are remembered for the whole window in which their
timestamp is acceptable, in the shared cache (Redis in production: `add` is atomic across processes) or, with
no Redis configured, in the database, so a captured request cannot be replayed.
"""

import functools
import hmac
import logging
import re
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from gateway.apiclient import sign
from gateway.crypto import decrypt_secret, encrypt_secret
from gateway.models import ApiClient
from gateway.services.clients import api_client_verification_secrets
from gateway.services.nonces import nonce_record_db, nonce_seen_db, outage_mark, outage_recent

logger = logging.getLogger(__name__)

HEADERS = ("X-Api-Key", "X-Timestamp", "X-Nonce", "X-Signature")
_META = {h: "HTTP_" + h.upper().replace("-", "_") for h in HEADERS}
_NONCE = re.compile(r"[A-Za-z0-9_\-]{8,64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[A-Za-z0-9_\-]{1,40}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds; more digits cannot be inside the window anyway


class ApiClientUser:
    """`request.user` for a request signed by an API client; `request.auth` is the ApiClient itself.

    It is not a Django user: it has no model permissions, and it is not staff.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, client: ApiClient):
        self.client = client

    def __str__(self) -> str:
        return f"api:{self.client.name}"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False


@functools.cache
def _decoy_secret() -> str:
    """An encrypted random secret no client has: an unknown key is verified against it, at the same cost."""
    return encrypt_secret(secrets.token_urlsafe(32))


def _fail(code: str, detail: str):
    return exceptions.AuthenticationFailed(detail, code=code)


def nonce_remember(key_id: str, nonce: str, *, ttl: int) -> bool:
    """True if the nonce was new (and is now remembered), False if it was seen within the window.

    With the cache store, Redis away does not stop intake: the nonce goes to the database table instead, and
    for one window after such a fallback nonces are checked in both places (see gateway.services.nonces)."""

    if settings.GATEWAY_NONCE_STORE == "db":
        return nonce_record_db(key_id=key_id, nonce=nonce, ttl=ttl)
    try:
        fresh = cache.add(f"gw:nonce:{key_id}:{nonce}", 1, timeout=ttl)
    except Exception as exc:  # noqa: BLE001 - Redis down or timing out: PostgreSQL is the source of truth
        logger.warning("nonce store (Redis) unavailable, using the database: %s", exc)
        outage_mark()
        return nonce_record_db(key_id=key_id, nonce=nonce, ttl=ttl)
    if fresh and outage_recent(ttl):  # used during a recent outage, when only the database saw it?
        return not nonce_seen_db(key_id=key_id, nonce=nonce, ttl=ttl)
    return fresh


class HmacAuthentication(BaseAuthentication):
    """DRF authentication: returns (ApiClientUser, ApiClient), None without the headers, or raises 401."""

    def authenticate(self, request):
        meta = request._request.META
        values = {h: meta.get(m, "") for h, m in _META.items()}
        if not any(values.values()):
            return None  # not an HMAC request: let session or token authentication try
        missing = [h for h, v in values.items() if not v]
        if missing:
            raise _fail("missing_headers", "Missing signature headers: " + ", ".join(missing) + ".")
        key_id, timestamp, nonce, signature = (values[h] for h in HEADERS)

        window = settings.GATEWAY_SIGNATURE_WINDOW_SECONDS
        if not _TIMESTAMP.fullmatch(timestamp):
            raise _fail("bad_timestamp", "X-Timestamp must be Unix seconds (an integer of at most 12 digits).")
        if abs(time.time() - int(timestamp)) > window:
            raise _fail("signature_expired", f"X-Timestamp is more than {window} seconds away from the server clock.")
        if not _NONCE.fullmatch(nonce):
            raise _fail("bad_nonce", "X-Nonce must be 8 to 64 characters of A-Z, a-z, 0-9, '-' or '_'.")

        # An unknown key and a disabled one take the same path as a known one (one query, one decryption, the
        # same HMACs) and, unless the signature verifies, get the same answer: nobody without the secret learns
        # whether a key exists or is disabled.
        client = None
        if _KEY_ID.fullmatch(key_id):
            client = ApiClient.objects.select_related("contract", "sub_port").filter(key_id=key_id).first()
        if client is not None:
            candidates = api_client_verification_secrets(client, now=timezone.now())
        else:
            candidates = [decrypt_secret(_decoy_secret())]

        body = request._request.body
        # The path as sent (gunicorn/uWSGI pass it raw) and Django's re-encoding of the decoded path.
        paths = {meta.get("RAW_URI") or meta.get("REQUEST_URI") or "", request._request.get_full_path()} - {""}
        method = request._request.method
        candidate = signature.strip().lower()
        ok = False
        if _HEX64.fullmatch(candidate):
            for secret in candidates:
                for path in paths:
                    expected = sign(secret, method, path, timestamp, nonce, body)
                    ok = hmac.compare_digest(expected, candidate) or ok  # check every one: constant work
        if not ok or client is None:
            logger.info("Bad signature or unknown key %r for %s %s", key_id[:40], method, min(paths))
            raise _fail("bad_signature", "X-Api-Key and X-Signature do not verify this request.")
        if not client.enabled:
            # Only someone holding the secret learns that the client is disabled.
            raise _fail("client_disabled", "This API client is disabled.")
        if not nonce_remember(key_id, nonce, ttl=2 * window + 60):
            raise _fail("nonce_reused", "This X-Nonce was already used.")
        return ApiClientUser(client), client

    def authenticate_header(self, request) -> str:
        return 'HMAC-SHA256 realm="api", headers="X-Api-Key X-Timestamp X-Nonce X-Signature"'
