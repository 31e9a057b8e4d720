"""Every CSV and XLSX the system produces goes through here, so that no cell is run as a formula when the file
is opened in a spreadsheet (formula injection, "CSV injection"): a carrier may name a bill
`=2+5+cmd|' -C calc'!A0.csv` and that name lands in the audit log export.

CSV: a text cell beginning with =, +, -, @, a tab or a carriage return gets a leading apostrophe (what
spreadsheets themselves use to mark "text, not a formula"). XLSX: such a cell is written as a string cell with
Excel's quote prefix, so it shows exactly as stored and is never evaluated. Numbers, dates and the like are
written as they are."""

import csv
from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    """The value as it may go into a CSV: formula-like text prefixed with an apostrophe."""
    return "'" + value if is_formula_like(value) else value


class SafeCsvWriter:
    """csv.writer whose rows are escaped cell by cell (`writerow`, `writerows`)."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row: Iterable):
        return self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(file, **kwargs) -> SafeCsvWriter:
    return SafeCsvWriter(file, **kwargs)


def xlsx_append(sheet, row: Iterable) -> None:
    """Append a row to an openpyxl worksheet; formula-like text becomes a quote-prefixed string cell (openpyxl
    would otherwise store any text beginning with "=" as a formula)."""
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if is_formula_like(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True
