"""Nonces in the database, for deployments without Redis (several web processes still share them)."""

import time
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from gateway.models import ApiNonce


def nonce_record_db(*, key_id: str, nonce: str, ttl: int) -> bool:
    """True if the nonce is new (now recorded); False if seen within `ttl` seconds. Old rows are pruned."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=ttl)
    try:
        with transaction.atomic():
            row = ApiNonce.objects.create(key_id=key_id, nonce=nonce, seen_at=now)
    except IntegrityError:
        # Seen before: a replay, unless the old row is past the window (then it may be reused).
        with transaction.atomic():
            updated = ApiNonce.objects.filter(key_id=key_id, nonce=nonce, seen_at__lt=cutoff).update(seen_at=now)
        return bool(updated)
    if row.pk % 100 == 0:
        ApiNonce.objects.filter(seen_at__lt=cutoff).delete()
    return True


# --- Redis outages (GATEWAY_NONCE_STORE=cache) ------------------------------------------------------------
# While Redis is away nonces are recorded here; once it is back, a nonce used during the outage is known only
# here, so for one window (ttl) after the last fallback every new nonce is checked here too. The last
# fallback's time is a row of this table (so every web process sees it), read at most every 2 s per process.
_OUTAGE_KEY, _OUTAGE_NONCE = "~outage", "redis"
_outage_cache: list = [None, 0.0]  # [last outage seen_at or None, monotonic time it was read]


def outage_mark() -> None:
    now = timezone.now()
    ApiNonce.objects.update_or_create(key_id=_OUTAGE_KEY, nonce=_OUTAGE_NONCE, defaults={"seen_at": now})
    _outage_cache[:] = [now, time.monotonic()]


def outage_recent(ttl: int) -> bool:
    if time.monotonic() - _outage_cache[1] > 2.0:
        _outage_cache[:] = [
            ApiNonce.objects.filter(key_id=_OUTAGE_KEY, nonce=_OUTAGE_NONCE).values_list("seen_at", flat=True).first(),
            time.monotonic(),
        ]
    last = _outage_cache[0]
    return last is not None and last > timezone.now() - timedelta(seconds=ttl)


def nonce_seen_db(*, key_id: str, nonce: str, ttl: int) -> bool:
    cutoff = timezone.now() - timedelta(seconds=ttl)
    return ApiNonce.objects.filter(key_id=key_id, nonce=nonce, seen_at__gte=cutoff).exists()
