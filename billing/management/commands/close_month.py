from django.core.management.base import BaseCommand, CommandError

from billing.services.statements import statement_close_month
from contracts.models import Contract
from sms_contract.exceptions import ApplicationError
from sms_contract.money import format_fen


class Command(BaseCommand):
    help = "Create or recompute the monthly statement(s): close_month 2025-10 [--contract NUMBER]"

    def add_arguments(self, parser):
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--contract", help="contract number (default: every contract in force)")

    def handle(self, *args, period, contract=None, **options):
        try:
            year, month = (int(p) for p in period.split("-"))
            if not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            raise CommandError(f"Period must be YYYY-MM, not {period!r}.") from None
        contracts = (
            Contract.objects.filter(number=contract) if contract else Contract.objects.filter(terminated_on=None)
        )
        if contract and not contracts.exists():
            raise CommandError(f"No contract {contract}.")
        for c in contracts:
            try:
                s = statement_close_month(contract=c, year=year, month=month)
            except ApplicationError as exc:
                raise CommandError(f"{c.number}: {exc.detail}") from exc
            ratio = s.payment_ratio if s.payment_ratio is not None else "unknown"
            self.stdout.write(
                f"{s.number} {s.state} units={s.units} ratio={ratio} net_due={format_fen(s.net_due_fen)} due={s.due_on}"
            )
