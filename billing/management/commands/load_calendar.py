"""Load one year of the working-day calendar from a data file (billing/calendars/*.json is the format)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from billing.calendar_seed import CalendarFileError, load_calendar_data, read_calendar_file
from billing.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = (
        "Load a year of the working-day calendar from a JSON file (holidays, make-up working days, source). "
        "An official file replaces a provisional year; --replace replaces any year."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="replace the year even if it is already loaded")

    def handle(self, *args, file: str, replace: bool, **options):
        try:
            data = read_calendar_file(Path(file))
        except CalendarFileError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            written = load_calendar_data(CalendarYear, CalendarDay, data, replace=replace)
        if not written:
            raise CommandError(f"{data['year']} is already in the calendar; use --replace to replace it.")
        holidays = sum(1 for kind, _ in data["days"].values() if kind == "holiday")
        makeups = len(data["days"]) - holidays
        self.stdout.write(
            f"{data['year']}: {written} days loaded ({data['status']}; {holidays} holidays, "
            f"{makeups} make-up working days)"
        )
