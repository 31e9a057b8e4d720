"""No CSV or XLSX the system produces lets a cell run as a formula: text beginning with =, +, -, @, tab or CR
is escaped in the audit log CSV and the statement workbook (sms_contract.spreadsheets)."""

import csv
import io

import openpyxl
import pytest

from sms_contract.spreadsheets import FORMULA_STARTS, csv_cell, csv_writer, xlsx_append

PAYLOAD = "=2+5+cmd|' -C calc'!A0.csv"


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_escaped_in_csv(start):
    out = io.StringIO()
    csv_writer(out).writerow([start + "1+1", "plain", 42, None])
    row = next(csv.reader(io.StringIO(out.getvalue())))
    assert row == ["'" + start + "1+1", "plain", "42", ""]


def test_harmless_cells_are_written_as_they_are():
    assert [csv_cell(v) for v in ("a=b", "139****5678", 5, -5, "")] == ["a=b", "139****5678", 5, -5, ""]


def test_xlsx_formula_like_text_is_a_quote_prefixed_string_not_a_formula():
    workbook = openpyxl.Workbook()
    xlsx_append(workbook.active, [PAYLOAD, "@SUM(A1)", 7])
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    first = openpyxl.load_workbook(out).active[1]
    assert [(c.value, c.data_type, c.quotePrefix) for c in first] == [
        (PAYLOAD, "s", True),
        ("@SUM(A1)", "s", True),
        (7, "n", False),
    ]


@pytest.mark.django_db
def test_a_bill_named_as_a_formula_is_escaped_in_the_audit_log_csv(client_as, carrier_user, auditor_user, contract):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client_as(carrier_user).post(
        "/portal/bills/upload/",
        {
            "contract": contract.pk,
            "period": "2025-10",
            "file": SimpleUploadedFile(PAYLOAD, b"date,units\n2025-10-01,5\n", "text/csv"),
        },
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    from billing.models import CarrierBill

    assert CarrierBill.objects.get().filename == PAYLOAD  # stored as sent
    body = client_as(auditor_user).get("/audit/audit-log.csv").content.decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert any(PAYLOAD in cell for cell in cells)
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


@pytest.mark.django_db
def test_statement_workbook_cells_are_escaped(contract):
    from billing.documents import statement_xlsx
    from billing.models import Statement

    contract.number = '=HYPERLINK("http://evil")'
    statement = Statement(contract=contract, year=2025, month=10, number="-1+1", units=3, daily_units={})
    statement.gross_fen = 0
    sheet = openpyxl.load_workbook(io.BytesIO(statement_xlsx(statement))).active
    cells = {c.value: c for row in sheet.iter_rows() for c in row if c.value is not None}
    assert cells["-1+1"].data_type == "s" and cells["-1+1"].quotePrefix
    assert cells['=HYPERLINK("http://evil")'].data_type == "s"
