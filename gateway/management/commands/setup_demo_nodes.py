"""`python manage.py setup_demo_nodes`: carrier nodes pointing at the simulated nodes of `make run`."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contracts.models import Contract
from gateway.crypto import encrypt_secret
from gateway.models import CarrierNode

DEMO_SP_ID = "901234"
DEMO_SECRET = "demo-s3cret"  # noqa: S105 - the simulated gateway's demo account, loopback only
FIRST_PORT = 7891


class Command(BaseCommand):
    help = "Create or update the demo's simulated carrier nodes (127.0.0.1:7891, 7892, ...) for a contract."

    def add_arguments(self, parser):
        parser.add_argument("--contract", help="contract number (default: the only/first contract)")
        parser.add_argument("--count", type=int, default=settings.GATEWAY_SIMULATED_NODES)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, **opts):
        contracts = Contract.objects.order_by("id")
        if opts["contract"]:
            contracts = contracts.filter(number=opts["contract"])
        contract = contracts.first()
        if contract is None:
            raise CommandError("No contract: run `manage.py seed_demo` (or load the seed contract) first.")
        for i in range(1, opts["count"] + 1):
            node, created = CarrierNode.objects.update_or_create(
                name=f"sim-node{i}",
                defaults={
                    "contract": contract,
                    "host": opts["host"],
                    "port": FIRST_PORT + i - 1,
                    "version": CarrierNode.Version.V30,
                    "sp_id": DEMO_SP_ID,
                    "secret_encrypted": encrypt_secret(DEMO_SECRET),
                    "service_id": "JTXX12123",
                    "source_number": "1069121230",
                    "window": 16,
                    "weight": 1,
                    "enabled": True,
                },
            )
            verb = "created" if created else "updated"
            self.stdout.write(f"{verb} node {node.name} at {node.host}:{node.port} (SP {DEMO_SP_ID})")
