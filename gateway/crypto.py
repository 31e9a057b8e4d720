"""Secrets at rest (API-client and carrier-node secrets): Fernet with keys from the environment.

SECRETS_ENCRYPTION_KEYS lists one or more keys; the first encrypts, all decrypt, so a key is rotated by
putting the new one first and re-encrypting (`python manage.py rotate_secrets_key`). With DEBUG on and no
key set, a key is derived from SECRET_KEY so the demo runs without configuration.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.SECRETS_ENCRYPTION_KEYS)
    if not keys:
        digest = hashlib.sha256(f"secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def encrypt_secret(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("The stored secret cannot be decrypted with the configured keys.") from exc


def reencrypt_secret(token: str) -> str:
    """Re-encrypt under the first (newest) key."""
    return _fernet().rotate(token.encode()).decode()
