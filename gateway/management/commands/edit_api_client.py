"""Change an API client's callback settings (the secret: rotate_api_client)."""

from django.core.management.base import BaseCommand, CommandError

from gateway.models import ApiClient
from gateway.services.clients import api_client_set_callback
from sms_contract.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Set or clear an API client's callback URL and whether `submitted` events are pushed too."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--callback-url", required=True, help='POST status events here; "" stops pushing')
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--callback-submitted", dest="submitted", action="store_true", default=None)
        group.add_argument("--no-callback-submitted", dest="submitted", action="store_false")

    def handle(self, *args, name, callback_url, submitted, **options):
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(f"No API client named {name!r}.")
        try:
            client = api_client_set_callback(client=client, callback_url=callback_url, callback_submitted=submitted)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        shown = client.callback_url or "(none: pull only, GET /api/v1/reports/)"
        self.stdout.write(
            f"{client.name}: callback {shown}; submitted events {'on' if client.callback_submitted else 'off'}"
        )
