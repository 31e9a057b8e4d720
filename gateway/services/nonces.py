"""Nonces in the database, for deployments without Redis (several web processes still share them)."""

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
