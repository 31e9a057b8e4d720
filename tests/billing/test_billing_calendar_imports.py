"""The working-day calendar as data, and imported success counts replacing the gateway's days."""

from datetime import date, timedelta

import chinese_calendar
import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask
from factories.billing import csv_bytes, daily_rows, xlsx_bytes

from billing.calendar_seed import seed_calendar
from billing.files import BillFileError
from billing.models import CalendarDay, CalendarYear, ImportedDailyUnits
from billing.selectors import CalendarMissingError, bill_due_date_for, daily_units
from billing.services.imports import success_counts_import

pytestmark = pytest.mark.django_db


def test_calendar_exists_after_migrate_with_holidays_and_make_up_days():
    assert CalendarYear.objects.filter(year__in=[2025, 2026]).count() == 2
    assert CalendarDay.objects.get(date=date(2025, 10, 1)).kind == "holiday"
    makeup = CalendarDay.objects.get(date=date(2025, 9, 28))
    assert (makeup.kind, makeup.is_working, makeup.name) == ("makeup", True, "国庆节")
    assert CalendarDay.objects.get(date=date(2025, 11, 15)).kind == "weekend"


def test_bill_due_dates_from_the_stored_calendar_match_the_official_one(contract):
    for index in range(16):  # bills for 2025-08 .. 2026-11, due in 2025-09 .. 2026-12
        year, month = divmod(2025 * 12 + 7 + index, 12)
        month += 1
        expected = date(year + (month == 12), month % 12 + 1, 15)
        while not chinese_calendar.is_workday(expected):
            expected += timedelta(days=1)
        assert bill_due_date_for(contract=contract, year=year, month=month) == expected
    assert bill_due_date_for(contract=contract, year=2025, month=9) == date(2025, 10, 15)
    assert bill_due_date_for(contract=contract, year=2025, month=10) == date(2025, 11, 17)


def test_a_year_without_calendar_is_an_explicit_error_until_entered(contract):
    with pytest.raises(CalendarMissingError, match="2028"):
        bill_due_date_for(contract=contract, year=2027, month=12)
    CalendarYear.objects.create(year=2028, source="manual")
    for d in range(1, 32):
        day = date(2028, 1, d)
        weekend = day.weekday() >= 5
        CalendarDay.objects.create(date=day, is_working=not weekend, kind="weekend" if weekend else "workday")
    assert bill_due_date_for(contract=contract, year=2027, month=12) == date(2028, 1, 17)


# --- 2027 (issue 12): no package covers it yet; a provisional year from the statutory holidays, flagged ----------


def test_2027_is_provisional_from_the_statutory_holidays_so_decembers_bill_has_a_due_date(contract):
    year = CalendarYear.objects.get(year=2027)
    assert year.source == "provisional" and "全国年节及纪念日放假办法" in year.note
    days = {d.date: d for d in CalendarDay.objects.filter(date__year=2027)}
    assert len(days) == 365
    # the 2024 revision: 春节 4 days (除夕 to 初三: 02-05..02-08), the weekend ones made up after (02-09, 02-10)
    assert [days[date(2027, 2, d)].kind for d in range(5, 12)] == ["holiday"] * 6 + ["workday"]
    assert days[date(2027, 4, 5)].name == "清明节"  # the solar term, as chinese_calendar computes it
    assert chinese_calendar.get_solar_terms(date(2027, 4, 1), date(2027, 4, 10))[0] == (date(2027, 4, 5), "清明")
    assert days[date(2027, 10, 5)].kind == "holiday" and days[date(2027, 10, 6)].is_working
    assert not [d for d in days.values() if d.kind == "makeup"]  # no make-up days until the notice
    assert bill_due_date_for(contract=contract, year=2026, month=12) == date(2027, 1, 15)


def test_load_calendar_replaces_a_provisional_year_with_the_official_one(tmp_path, capsys):
    official = tmp_path / "2027.json"
    official.write_text(
        '{"year": 2027, "status": "official", "source": "国务院办公厅关于2027年部分节假日安排的通知",'
        ' "holidays": [{"date": "2027-02-05", "name": "春节"}], "makeup_workdays": ["2027-02-20"]}',
        encoding="utf-8",
    )
    call_command("load_calendar", str(official))
    assert CalendarYear.objects.get(year=2027).source == "manual"
    assert CalendarDay.objects.get(date=date(2027, 2, 20)).kind == "makeup"
    assert CalendarDay.objects.get(date=date(2027, 2, 9)).kind == "workday"  # the provisional guess is gone
    with pytest.raises(CommandError, match="--replace"):
        call_command("load_calendar", str(official))  # an official year stays unless asked


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"year": 2027, "status": "guess", "source": "x"}', "status"),
        ('{"year": 2027, "status": "official", "source": ""}', "source"),
        ('{"year": 2027, "status": "official", "source": "x", "holidays": ["2028-01-01"]}', "not in 2027"),
        ('{"year": 2027, "status": "official", "source": "x", "makeup_workdays": ["2027-02-17"]}', "weekday"),
        ('{"year": 2027, "status": "official", "source": "x", "holidays": ["2027-02-30"]}', "not a date"),
    ],
)
def test_a_bad_calendar_file_is_refused_and_changes_nothing(tmp_path, body, message):
    path = tmp_path / "c.json"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CommandError, match=message):
        call_command("load_calendar", str(path), "--replace")
    assert CalendarYear.objects.get(year=2027).source == "provisional"


def test_the_dashboard_flags_a_provisional_year_and_warns_60_days_before_a_year_without_calendar(
    client_as, police_user, contract
):
    import time_machine

    with time_machine.travel(date(2026, 11, 30)):
        page = client_as(police_user).get("/").content.decode()
    assert 'id="calendar-2027"' in page and "PROVISIONAL" in page
    with time_machine.travel(date(2027, 10, 31)):  # 61 days before 2028: nothing yet
        assert "2028 年工作日历尚未载入" not in client_as(police_user).get("/").content.decode()
    with time_machine.travel(date(2027, 11, 2)):
        assert "2028 年工作日历尚未载入" in client_as(police_user).get("/").content.decode()


def test_edits_in_the_calendar_are_used_and_kept_by_reseeding(contract):
    day = CalendarDay.objects.get(date=date(2025, 10, 15))
    day.is_working, day.kind, day.name = False, "holiday", "测试"
    day.save()
    assert bill_due_date_for(contract=contract, year=2025, month=9) == date(2025, 10, 16)
    assert seed_calendar(CalendarYear, CalendarDay) == 0
    assert CalendarDay.objects.get(date=date(2025, 10, 15)).kind == "holiday"


def test_the_close_is_scheduled_nightly_after_migrate():
    """Daily, so a close missed on the 1st is made the next night (it catches up every month not yet closed)."""
    task = PeriodicTask.objects.get(task="billing.tasks.close_month_task")
    assert task.enabled
    assert (task.crontab.day_of_month, task.crontab.hour, task.crontab.minute) == ("*", "2", "0")
    assert str(task.crontab.timezone) == "Asia/Shanghai"


def test_imported_day_replaces_the_gateways_figure(contract, gateway_days):
    gateway_days({date(2025, 10, 1): 100, date(2025, 10, 2): 200, date(2025, 10, 3): 300})
    success_counts_import(contract=contract, file=csv_bytes(daily_rows(2025, 10, 50, days=2)), filename="a.csv")
    days = daily_units(contract_id=contract.pk, start=date(2025, 10, 1), end=date(2025, 10, 31))
    assert days == {date(2025, 10, 1): 50, date(2025, 10, 2): 50, date(2025, 10, 3): 300}


def test_reimport_replaces_and_keeps_history_xlsx_with_chinese_headers(contract):
    success_counts_import(contract=contract, file=csv_bytes(daily_rows(2025, 10, 50, days=2)), filename="a.csv")
    rows = [["日期", "成功条数"], [date(2025, 10, 2), 70]]
    batch = success_counts_import(contract=contract, file=xlsx_bytes(rows), filename="b.xlsx")
    row = ImportedDailyUnits.objects.get(contract=contract, day=date(2025, 10, 2))
    assert (row.units, row.source_id) == (70, batch.pk)
    assert [h.units for h in row.history.order_by("history_date")] == [50, 70]
    assert ImportedDailyUnits.objects.get(day=date(2025, 10, 1)).units == 50


def test_a_bad_row_imports_nothing_and_names_row_and_column(contract):
    rows = [["date", "units"], ["2025-10-01", "10"], ["2025-10-02", "-3"], ["2025-13-01", "5"], ["2025-10-01", "1"]]
    with pytest.raises(BillFileError) as err:
        success_counts_import(contract=contract, file=csv_bytes(rows), filename="bad.csv")
    errors = err.value.extra["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(3, "units"), (4, "date"), (5, "date")]
    assert err.value.code == "bad_file" and err.value.extra["error_count"] == 3
    assert not ImportedDailyUnits.objects.exists()


def test_gbk_csv_and_missing_columns(contract):
    ok = csv_bytes([["日期", "成功条数"], ["2025/10/05", "1,234"]], encoding="gbk")
    success_counts_import(contract=contract, file=ok, filename="gbk.csv")
    assert ImportedDailyUnits.objects.get(day=date(2025, 10, 5)).units == 1234
    with pytest.raises(BillFileError) as err:
        success_counts_import(contract=contract, file=csv_bytes([["day", "count"]]), filename="x.csv")
    assert err.value.extra["errors"][0]["row"] == 1


def test_import_command(contract, tmp_path):
    good = tmp_path / "counts.csv"
    good.write_bytes(csv_bytes(daily_rows(2025, 11, 9, days=4)).getvalue())
    call_command("import_success_counts", str(good), "--contract", contract.number)
    assert ImportedDailyUnits.objects.filter(day__month=11).count() == 4
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"date,units\n2025-11-01,x\n")
    with pytest.raises(CommandError, match="row 2 column units"):
        call_command("import_success_counts", str(bad), "--contract", contract.number)
