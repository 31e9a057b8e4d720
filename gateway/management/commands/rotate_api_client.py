"""Give an API client a new secret; the previous one keeps working for the overlap."""

from django.core.management.base import BaseCommand, CommandError

from gateway.management.commands.create_api_client import print_credentials
from gateway.models import ApiClient
from gateway.services.clients import api_client_rotate
from sms_contract.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Rotate an API client's secret (printed once); the old one stays valid for --overlap-hours."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--overlap-hours", type=int, default=24)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, name, overlap_hours, json: bool, **options):
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(f"No API client named {name!r}.")
        try:
            creds = api_client_rotate(client=client, overlap_hours=overlap_hours)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        print_credentials(self, creds, as_json=json)
        if not json:
            self.stdout.write(f"The previous secret stays valid for {overlap_hours} hours.")
