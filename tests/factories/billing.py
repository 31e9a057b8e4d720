"""Factories and file builders for the billing tests."""

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl

from assessment.selectors import AssessmentOutcome

SCORE_SPLIT = {"sending": 0.3, "ops_timeliness": 0.2, "ops_compliance": 0.2}


def outcome(total: int, *, signed: bool = True, assessment_id: int = 1) -> AssessmentOutcome:
    """An assessment outcome like the assessment app's, with part scores summing to `total`."""
    from contracts.scheme import parse_ratio_bands, ratio_for_total
    from factories.contracts import _SEED

    scores = {code: int(total * share) for code, share in SCORE_SPLIT.items()}
    scores["emergency"] = total - sum(scores.values())
    ratio = ratio_for_total(total, parse_ratio_bands(_SEED["payment_ratio_bands"]))
    return AssessmentOutcome(
        assessment_id=assessment_id, total=total, payment_ratio=Decimal(ratio), scores=scores, signed=signed
    )


def csv_bytes(rows: list[list], *, encoding: str = "utf-8") -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return io.BytesIO(text.getvalue().encode(encoding))


def xlsx_bytes(rows: list[list]) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def daily_rows(year: int, month: int, units: int, days: int = 3, header=("date", "units")) -> list[list]:
    return [list(header)] + [[date(year, month, d).isoformat(), units] for d in range(1, days + 1)]


def detail_rows(year: int, month: int, ids: list[int], header=("msg_id", "mobile", "submitted_at", "units", "status")):
    rows = [list(header)]
    for i, msg_id in enumerate(ids):
        day = 1 + i % 28
        rows.append([str(msg_id), "13800138000", f"{year}-{month:02d}-{day:02d} 10:00:00", 1, "DELIVRD"])
    return rows


NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
HEADER = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'


def minimal_xlsx(*, strings: bytes | None = None, rows: bytes = b"", prolog: bytes = b"") -> io.BytesIO:
    """A minimal workbook: shared strings "date", "units" (or the given table) and the given sheet rows."""
    if strings is None:
        strings = f'<sst xmlns="{NS}"><si><t>date</t></si><si><t>units</t></si></sst>'.encode()
    sheet = prolog + f'<worksheet xmlns="{NS}"><sheetData>{HEADER}'.encode() + rows + b"</sheetData></worksheet>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{PKG}/content-types"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PKG}/relationships"><Relationship Id="rId1" '
            f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{NS}" xmlns:r="{RELS}">'
            '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{RELS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", strings)
    out.seek(0)
    return out
