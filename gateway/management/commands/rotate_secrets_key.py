"""Re-encrypt every stored secret under the first key of SECRETS_ENCRYPTION_KEYS (docs/operations.md)."""

from django.core.management.base import BaseCommand

from gateway.services.clients import secrets_reencrypt_all


class Command(BaseCommand):
    help = "Re-encrypt API-client and carrier-node secrets under the first SECRETS_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        changed = secrets_reencrypt_all()
        self.stdout.write(f"Re-encrypted the secrets of {changed} rows under the first key.")
