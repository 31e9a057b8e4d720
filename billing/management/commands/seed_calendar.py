from django.core.management.base import BaseCommand

from billing.calendar_seed import seed_calendar
from billing.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = "Add the working-day calendar years the chinese_calendar package covers (idempotent; edits are kept)."

    def handle(self, *args, **options):
        created = seed_calendar(CalendarYear, CalendarDay)
        self.stdout.write(f"{created} calendar day(s) added.")
