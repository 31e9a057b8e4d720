"""API clients: credentials created, rotated and re-encrypted. Secrets are shown once and stored encrypted."""

import secrets
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from contracts.models import Contract
from gateway.crypto import decrypt_secret, encrypt_secret, reencrypt_secret
from gateway.models import ApiClient, CarrierNode, SubPort
from sms_contract.exceptions import ApplicationError


@dataclass(frozen=True)
class Credentials:
    key: str
    secret: str


def _new_key() -> str:
    return "k_" + secrets.token_hex(10)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


@transaction.atomic
def api_client_create(
    *,
    contract: Contract,
    name: str,
    allow_free_content: bool = False,
    may_send: bool = True,
    may_manage_optouts: bool = True,
    sub_port: SubPort | None = None,
    callback_url: str = "",
    callback_submitted: bool = False,
) -> tuple[ApiClient, Credentials]:
    """A new client with a fresh key id and secret. The plain secret is returned here and nowhere else."""
    callback_url = callback_url_check(callback_url)
    name = name.strip()
    if not name:
        raise ApplicationError("invalid_name", "The client needs a name.")
    if ApiClient.objects.filter(name=name).exists():
        raise ApplicationError("duplicate_name", f"An API client named {name!r} already exists.")
    secret = _new_secret()
    client = ApiClient.objects.create(
        contract=contract,
        name=name,
        key_id=_new_key(),
        secret_encrypted=encrypt_secret(secret),
        allow_free_content=allow_free_content,
        may_send=may_send,
        may_manage_optouts=may_manage_optouts,
        sub_port=sub_port,
        callback_url=callback_url,
        callback_submitted=callback_submitted,
    )
    return client, Credentials(client.key_id, secret)


def callback_url_check(url: str) -> str:
    """An http(s) URL with a host, at most 500 characters, or "" (no callbacks: pull only)."""
    url = (url or "").strip()
    if not url:
        return ""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500 or parts.fragment:
        raise ApplicationError(
            "invalid_callback_url", f"The callback URL must be http(s)://host[:port]/path (no fragment), not {url!r}."
        )
    return url


@transaction.atomic
def api_client_set_callback(
    *, client: ApiClient, callback_url: str, callback_submitted: bool | None = None
) -> ApiClient:
    """Change where a client's status events are POSTed ("" stops pushing; events stay in the pull feed).
    Events written while the client had no URL are not pushed later."""
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    client.callback_url = callback_url_check(callback_url)
    if callback_submitted is not None:
        client.callback_submitted = callback_submitted
    client.save(update_fields=["callback_url", "callback_submitted"])
    return client


def api_client_issue_credentials(*, client: ApiClient) -> Credentials:
    """Give a client created without credentials (the admin's add form) its key id and secret."""
    secret = _new_secret()
    client.key_id = client.key_id or _new_key()
    client.secret_encrypted = encrypt_secret(secret)
    return Credentials(client.key_id, secret)


@transaction.atomic
def api_client_rotate(*, client: ApiClient, overlap_hours: int = 24, now: datetime | None = None) -> Credentials:
    """A new secret (same key id). The previous one keeps working for `overlap_hours` so the caller can
    switch without downtime; 0 ends it at once."""
    if overlap_hours < 0:
        raise ApplicationError("invalid_overlap", "overlap_hours cannot be negative.")
    now = now or timezone.now()
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    secret = _new_secret()
    client.previous_secret_encrypted = client.secret_encrypted if overlap_hours else ""
    client.previous_valid_until = now + timedelta(hours=overlap_hours) if overlap_hours else None
    client.secret_encrypted = encrypt_secret(secret)
    client.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_valid_until"])
    return Credentials(client.key_id, secret)


def api_client_verification_secrets(client: ApiClient, *, now: datetime) -> list[str]:
    """The secrets that verify a signature now: the current one, and the previous one during its overlap."""
    result = [decrypt_secret(client.secret_encrypted)]
    if client.previous_secret_encrypted and client.previous_valid_until and now < client.previous_valid_until:
        result.append(decrypt_secret(client.previous_secret_encrypted))
    return result


def carrier_node_set_secret(*, node: CarrierNode, secret: str) -> None:
    """Store a node's CMPP password encrypted (the caller saves the node)."""
    node.secret_encrypted = encrypt_secret(secret)


@transaction.atomic
def secrets_reencrypt_all() -> int:
    """Re-encrypt every stored secret under the first key of SECRETS_ENCRYPTION_KEYS. Returns rows changed."""
    changed = 0
    for client in ApiClient.objects.select_for_update():
        client.secret_encrypted = reencrypt_secret(client.secret_encrypted)
        if client.previous_secret_encrypted:
            client.previous_secret_encrypted = reencrypt_secret(client.previous_secret_encrypted)
        client.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
        changed += 1
    for node in CarrierNode.objects.select_for_update().exclude(secret_encrypted=""):
        node.secret_encrypted = reencrypt_secret(node.secret_encrypted)
        node.save(update_fields=["secret_encrypted"])
        changed += 1
    return changed
