"""Seed the working-day calendar from the chinese_calendar package (idempotent).

Used by the data migration (so the calendar exists after `migrate`) and by `seed_calendar`.
Years the package does not cover are entered in the admin once the State Council publishes them.
"""

from datetime import date, timedelta

FIRST_SEEDED_YEAR = 2020
CHINESE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def day_kind(day: date) -> tuple[bool, str, str]:
    """(is_working, kind, holiday name) for a date, from the chinese_calendar package."""
    import chinese_calendar

    working = chinese_calendar.is_workday(day)
    on_holiday, holiday = chinese_calendar.get_holiday_detail(day)
    name = CHINESE_NAMES.get(getattr(holiday, "value", holiday), str(holiday or ""))
    if working:
        return (True, "makeup", name) if day.weekday() >= 5 else (True, "workday", "")
    if on_holiday and holiday:
        return False, "holiday", name
    return False, "weekend", ""


def package_years() -> range:
    import chinese_calendar

    last = max(chinese_calendar.holidays).year
    return range(FIRST_SEEDED_YEAR, last + 1)


def seed_calendar(calendar_year_model, calendar_day_model, years=None) -> int:
    """Create the missing days of every package year; existing rows (possibly edited) are left alone."""
    created = 0
    for year in years or package_years():
        calendar_year_model.objects.get_or_create(
            year=year, defaults={"source": "chinese_calendar", "note": "chinese_calendar 软件包"}
        )
        existing = set(calendar_day_model.objects.filter(date__year=year).values_list("date", flat=True))
        rows = []
        day = date(year, 1, 1)
        while day.year == year:
            if day not in existing:
                working, kind, name = day_kind(day)
                rows.append(calendar_day_model(date=day, is_working=working, kind=kind, name=name))
            day += timedelta(days=1)
        calendar_day_model.objects.bulk_create(rows)
        created += len(rows)
    return created
