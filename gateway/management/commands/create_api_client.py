"""Create API-client credentials; the secret is printed once and stored only encrypted."""

import json

from django.core.management.base import BaseCommand, CommandError

from contracts.models import Contract
from gateway.models import OptOut, SubPort
from gateway.services.clients import api_client_create
from sms_contract.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Create an API client and print its key id and secret (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--allow-free-content", action="store_true", help="may send text without a template")
        parser.add_argument(
            "--optouts-only",
            action="store_true",
            help=f"may only query/change opt-outs (the carrier's customer service; source {OptOut.Source.CARRIER_CS})",
        )
        parser.add_argument("--sub-port", help="the client's sub-port extension (from the sub-port register)")
        parser.add_argument("--callback-url", default="", help="POST status events here (docs/api.md)")
        parser.add_argument(
            "--callback-submitted", action="store_true", help="also push `submitted` events, not only final ones"
        )
        parser.add_argument("--contract", help="contract number (default: the only / first contract)")
        parser.add_argument("--json", action="store_true", help='print {"key": ..., "secret": ...}')

    def handle(
        self,
        *args,
        name,
        allow_free_content,
        optouts_only,
        sub_port,
        contract,
        json: bool,
        callback_url: str,
        callback_submitted: bool,
        **options,
    ):
        contracts = Contract.objects.order_by("pk")
        found = contracts.filter(number=contract).first() if contract else contracts.first()
        if found is None:
            raise CommandError(f"No contract {contract!r}." if contract else "No contract yet: run seed_demo first.")
        port = None
        if sub_port:
            port = SubPort.objects.filter(sub_port=sub_port).first()
            if port is None:
                raise CommandError(f"Sub-port {sub_port!r} is not in the register.")
        try:
            _, creds = api_client_create(
                contract=found,
                name=name,
                allow_free_content=allow_free_content,
                may_send=not optouts_only,
                sub_port=port,
                callback_url=callback_url,
                callback_submitted=callback_submitted,
            )
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        print_credentials(self, creds, as_json=json)


def print_credentials(command: BaseCommand, creds, *, as_json: bool) -> None:
    if as_json:
        command.stdout.write(json.dumps({"key": creds.key, "secret": creds.secret}))
        return
    command.stdout.write(f"key:    {creds.key}")
    command.stdout.write(f"secret: {creds.secret}")
    command.stdout.write("The secret is shown only now; it is stored encrypted and cannot be displayed again.")
