"""Reading CSV and XLSX files row by row: the fast XLSX reader gives openpyxl's values."""

import io
from datetime import date, datetime

import openpyxl
import pytest

from billing.files import BillFileError, iter_file_rows, map_header


def workbook_bytes(write_only: bool) -> io.BytesIO:
    wb = openpyxl.Workbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    ws.append(["日期", "units", "消息ID", "flag"])
    ws.append([date(2025, 10, 1), 5, "18446744073709551615", True])
    ws.append([datetime(2025, 10, 2, 10, 30), 5.5, "甲&乙<丙>", False])
    ws.append([None, None, None, None])
    ws.append(["x", None, None, "far"])
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


@pytest.mark.parametrize("write_only", [False, True], ids=["shared-strings", "inline-strings"])
def test_xlsx_rows_match_openpyxl(write_only):
    fast = [
        (n, values) for n, values in iter_file_rows(workbook_bytes(write_only)) if any(v is not None for v in values)
    ]
    book = openpyxl.load_workbook(workbook_bytes(write_only), read_only=True, data_only=True)
    expected = [
        (n, values)
        for n, values in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1)
        if any(v is not None for v in values)
    ]
    assert [(n, tuple(v for v in values)) for n, values in fast] == [
        (n, values[: len(f)]) for (n, values), (_, f) in zip(expected, fast, strict=True)
    ]
    assert fast[1][1] == (datetime(2025, 10, 1), 5, "18446744073709551615", True)
    assert fast[2][1][2] == "甲&乙<丙>"


def test_damaged_workbook_and_csv_encodings():
    with pytest.raises(BillFileError):
        list(iter_file_rows(io.BytesIO(b"PK\x03\x04 not really a zip")))
    gbk = io.BytesIO("日期,条数\n2025-10-01,5\n".encode("gbk"))
    assert list(iter_file_rows(gbk)) == [(1, ("日期", "条数")), (2, ("2025-10-01", "5"))]
    bom = io.BytesIO("\ufeffdate,units\n".encode())
    assert map_header(next(iter_file_rows(bom))[1]) == {"date": 0, "units": 1}
