"""Seed the working-day calendar from the chinese_calendar package, then from the bundled data files (idempotent).

Used by the data migrations (so the calendar exists after `migrate`) and by `seed_calendar`. A year the package
does not cover comes from a data file in billing/calendars/ (`load_calendar FILE`): the official schedule of the
State Council's notice, or, until it is published, a PROVISIONAL year built from the statutory holidays of
《全国年节及纪念日放假办法》 (flagged on the dashboard, replaced with `load_calendar FILE --replace`).
"""

import json
from datetime import date, timedelta
from pathlib import Path

BUNDLED_DIR = Path(__file__).resolve().parent / "calendars"

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


class CalendarFileError(ValueError):
    pass


def read_calendar_file(path: Path) -> dict:
    """A calendar data file, checked: {"year", "status": "official"|"provisional", "source", "holidays":
    [{"date", "name"}], "makeup_workdays": [{"date", "name"}] or ["YYYY-MM-DD"]}."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CalendarFileError(f"{path}: {exc}") from exc
    year = data.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise CalendarFileError(f"{path}: 'year' must be a year such as 2027")
    if data.get("status") not in ("official", "provisional"):
        raise CalendarFileError(f"{path}: 'status' must be 'official' or 'provisional'")
    if not str(data.get("source", "")).strip():
        raise CalendarFileError(f"{path}: 'source' must name where the dates come from")
    days: dict[date, tuple[str, str]] = {}
    for key, kind in (("holidays", "holiday"), ("makeup_workdays", "makeup")):
        for index, item in enumerate(data.get(key, []), start=1):
            raw, name = (item, "") if isinstance(item, str) else (item.get("date"), item.get("name", ""))
            try:
                day = date.fromisoformat(raw)
            except (TypeError, ValueError):
                raise CalendarFileError(f"{path}: {key} item {index}: {raw!r} is not a date (YYYY-MM-DD)") from None
            if day.year != year:
                raise CalendarFileError(f"{path}: {key} item {index}: {day} is not in {year}")
            if day in days:
                raise CalendarFileError(f"{path}: {key} item {index}: {day} is listed twice")
            if kind == "makeup" and day.weekday() < 5:
                raise CalendarFileError(f"{path}: {key} item {index}: {day} is a weekday, not a make-up working day")
            days[day] = (kind, name)
    return {**data, "days": days}


def load_calendar_data(calendar_year_model, calendar_day_model, data: dict, *, replace: bool = False) -> int:
    """Write one year from a checked calendar file. An existing year is kept unless `replace` (or it is
    provisional and the file is official). Returns the days written."""
    year = data["year"]
    provisional = data["status"] == "provisional"
    existing = calendar_year_model.objects.filter(year=year).first()
    upgrade = existing is not None and existing.source == "provisional" and not provisional
    if existing is not None and not replace and not upgrade:
        return 0
    calendar_day_model.objects.filter(date__year=year).delete()
    source = "provisional" if provisional else "manual"
    calendar_year_model.objects.update_or_create(
        year=year, defaults={"source": source, "note": str(data["source"])[:200]}
    )
    rows, day = [], date(year, 1, 1)
    while day.year == year:
        kind, name = data["days"].get(day, ("weekend" if day.weekday() >= 5 else "workday", ""))
        rows.append(calendar_day_model(date=day, is_working=kind in ("workday", "makeup"), kind=kind, name=name))
        day += timedelta(days=1)
    calendar_day_model.objects.bulk_create(rows)
    return len(rows)


def bundled_calendar_files() -> list[Path]:
    return sorted(BUNDLED_DIR.glob("*.json"))


def seed_bundled(calendar_year_model, calendar_day_model) -> int:
    """Load the bundled data files for the years not in the calendar yet."""
    return sum(
        load_calendar_data(calendar_year_model, calendar_day_model, read_calendar_file(path))
        for path in bundled_calendar_files()
    )


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
