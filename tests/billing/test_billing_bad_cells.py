"""Bad cells in bills and success-count files are never a 500: each is a row-and-column error with a message,
and nothing is imported (units beyond the integer columns, odd offsets, NUL bytes, junk after dates, year 1)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from factories.billing import csv_bytes, detail_rows, xlsx_bytes

from billing.files import MAX_DAY_UNITS, MAX_RECORD_UNITS, BillFileError
from billing.models import CarrierBill, CarrierBillRecord, ImportedDailyUnits
from billing.services.bills import carrier_bill_upload
from billing.services.imports import success_counts_import

pytestmark = pytest.mark.django_db
ON_TIME = datetime(2025, 11, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def bill_errors(contract, file) -> list[tuple]:
    with pytest.raises(BillFileError) as err:
        carrier_bill_upload(
            contract=contract, period=(2025, 10), uploaded_by=None, file=file, filename="b", now=ON_TIME
        )
    assert err.value.code == "bad_file"
    assert not CarrierBill.objects.exists() and not CarrierBillRecord.objects.exists()
    return [(e["row"], e["column"]) for e in err.value.extra["errors"]]


def import_errors(contract, file) -> list[tuple]:
    with pytest.raises(BillFileError) as err:
        success_counts_import(contract=contract, file=file, filename="counts.csv")
    assert not ImportedDailyUnits.objects.exists()
    return [(e["row"], e["column"]) for e in err.value.extra["errors"]]


def test_detail_units_beyond_the_integer_column_are_row_errors(contract):
    rows = detail_rows(2025, 10, [1, 2, 3, 4])
    rows[1][3] = str(MAX_RECORD_UNITS + 1)
    rows[2][3] = "9" * 30
    rows[3][3] = str(MAX_RECORD_UNITS)  # the largest accepted
    assert bill_errors(contract, csv_bytes(rows)) == [(2, "units"), (3, "units")]


def test_summary_and_imported_units_beyond_the_ceiling_are_row_errors(contract):
    rows = [["date", "units"], ["2025-10-01", str(MAX_DAY_UNITS + 1)], ["2025-10-02", str(2**63)], ["2025-10-03", "5"]]
    assert bill_errors(contract, csv_bytes(rows)) == [(2, "units"), (3, "units")]
    assert import_errors(contract, csv_bytes(rows)) == [(2, "units"), (3, "units")]
    assert bill_errors(contract, xlsx_bytes([["date", "units"], ["2025-10-01", 10**20]])) == [(2, "units")]


def test_a_plus_14_offset_is_read_as_that_moment_not_stored_garbled(contract):
    rows = detail_rows(2025, 10, [1, 2, 3])
    rows[1][2] = "2025-10-06 12:00+14"  # 19 characters like the usual form, but an offset
    rows[2][2] = "2025-10-06 12:00:00+14:00"
    bill = carrier_bill_upload(
        contract=contract, period=(2025, 10), uploaded_by=None, file=csv_bytes(rows), filename="b", now=ON_TIME
    )
    stored = sorted(r.submitted_at for r in CarrierBillRecord.objects.filter(bill=bill, row__in=[2, 3]))
    moment = datetime(2025, 10, 5, 22, 0, tzinfo=UTC)  # 12:00 at +14 is 22:00 UTC the day before
    assert stored == [moment, moment]


def test_a_nul_byte_in_a_bill_row_is_a_row_error(contract):
    rows = detail_rows(2025, 10, [1, 2, 3])
    rows[1][4] = "DELIV\x00RD"
    rows[2][2] = "2025-10-06 10:00:00\x00"
    assert bill_errors(contract, csv_bytes(rows)) == [(2, "status"), (3, "submitted_at")]


@pytest.mark.parametrize("text", ["2025-10-06junk", "2025-10-06 10:00junk", "0001-01-01", "9999-12-31", "2025-02-30"])
def test_dates_with_junk_or_outside_the_era_are_row_errors(contract, text):
    rows = [["date", "units"], ["2025-10-01", "1"], [text, "1"]]
    assert bill_errors(contract, csv_bytes(rows)) == [(3, "date")]
    assert import_errors(contract, csv_bytes(rows)) == [(3, "date")]


@pytest.mark.parametrize(
    "text", ["0001-01-01 00:00:00", "0001-01-01T00:00:00+14:00", "2025-10-06 10:00:00junk", "2025-10-06\x0010:00:00"]
)
def test_submitted_times_with_junk_or_year_one_are_row_errors(contract, text):
    rows = detail_rows(2025, 10, [1, 2])
    rows[2][2] = text
    assert bill_errors(contract, csv_bytes(rows)) == [(3, "submitted_at")]


def test_dates_with_a_time_of_day_still_count_as_that_day(contract):
    rows = [["date", "units"], ["2025-10-01 00:00:00", "4"], ["2025-10-02T00:00", "6"]]
    assert success_counts_import(contract=contract, file=csv_bytes(rows), filename="c.csv").rows == 2
