"""Factories and file builders for the billing tests."""

import csv
import io
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
