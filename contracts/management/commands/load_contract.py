from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contracts.services import SEED_CONTRACT_NUMBER, SEED_DIR, contract_load_file


class Command(BaseCommand):
    help = "Load (or update) a contract from its JSON description. Without a path, the seed contract."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json"))

    def handle(self, *args, path: str, **options):
        try:
            contract, created = contract_load_file(path=Path(path))
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        verb = "created" if created else "updated"
        self.stdout.write(self.style.SUCCESS(f"Contract {contract.number} {verb}."))
