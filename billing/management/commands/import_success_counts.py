from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.services.imports import success_counts_import
from contracts.models import Contract
from sms_contract.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Import daily success counts (CSV or XLSX; columns date,units or 日期,成功条数). All rows or none."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--contract", help="contract number (default: the only contract)")

    def handle(self, *args, file, contract=None, **options):
        qs = Contract.objects.filter(number=contract) if contract else Contract.objects.all()
        if qs.count() != 1:
            raise CommandError(
                "Name the contract with --contract NUMBER." if not contract else f"No contract {contract}."
            )
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        with path.open("rb") as handle:
            try:
                batch = success_counts_import(contract=qs.get(), file=handle, filename=path.name)
            except ApplicationError as exc:
                lines = [exc.detail] + [
                    f"  row {e['row']} column {e['column']}: {e['message']}" for e in exc.extra.get("errors", [])
                ]
                raise CommandError("\n".join(lines)) from exc
        self.stdout.write(f"Imported {batch.rows} day(s) {batch.first_day}..{batch.last_day} from {path.name}.")
