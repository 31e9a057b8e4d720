"""`manage.py create_api_token USERNAME [--ttl-hours N]`: a staff API token, printed once and stored only as
its hash (docs/api.md "Staff tokens")."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Create an API token for a user; the token is printed once and stored only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--ttl-hours", type=int, default=0, help="Expire after this many hours (0: never).")

    def handle(self, *args, username, ttl_hours, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        _row, token = AuthToken.objects.create(user=user, expiry=timedelta(hours=ttl_hours) if ttl_hours else None)
        self.stdout.write(token)
