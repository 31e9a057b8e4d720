from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from billing.services.statements import statement_close_month, statements_close_due
from contracts.models import Contract
from sms_contract.exceptions import ApplicationError
from sms_contract.money import format_fen


class Command(BaseCommand):
    help = (
        "Create or recompute the monthly statement(s): close_month 2025-10 [--contract NUMBER]; "
        "close_month --due closes every finished month not yet closed (what beat runs nightly)."
    )

    def add_arguments(self, parser):
        parser.add_argument("period", nargs="?", help="YYYY-MM")
        parser.add_argument("--contract", help="contract number (default: every contract in force)")
        parser.add_argument("--due", action="store_true", help="every finished month without a statement yet")

    def handle(self, *args, period=None, contract=None, due=False, **options):
        if due:
            for s in statements_close_due(today=timezone.localdate()):
                self._report(s)
            return
        if period is None:
            raise CommandError("Give a period (YYYY-MM) or --due.")
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
            self._report(s)

    def _report(self, s) -> None:
        ratio = s.payment_ratio if s.payment_ratio is not None else "unknown"
        self.stdout.write(
            f"{s.number} {s.state} units={s.units} ratio={ratio} net_due={format_fen(s.net_due_fen)} due={s.due_on}"
        )
