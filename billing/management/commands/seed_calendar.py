from django.core.management.base import BaseCommand

from billing.calendar_seed import seed_bundled, seed_calendar
from billing.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = "Add the calendar years of the chinese_calendar package and billing/calendars/ (idempotent; edits kept)."

    def handle(self, *args, **options):
        created = seed_calendar(CalendarYear, CalendarDay) + seed_bundled(CalendarYear, CalendarDay)
        self.stdout.write(f"{created} calendar day(s) added.")
