"""The statement as documents: the PDF settlement sheet (WeasyPrint) and the XLSX of daily figures."""

import io
from datetime import date

from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Statement
from billing.rules import month_days
from contracts.selectors import contract_terms
from sms_contract.money import format_fen_grouped, format_rate, format_unit_price
from sms_contract.spreadsheets import xlsx_append

STATE_NOTE: dict[str, str] = {
    Statement.State.DRAFT: "草稿（未审核，仅供核对）",
}


def statement_context(statement: Statement) -> dict:
    contract = statement.contract
    terms = contract_terms(contract)
    scores = statement.assessment_scores or {}
    days = month_days(statement.year, statement.month)
    parts = [{"name": p.name, "max": p.max, "score": scores.get(p.code)} for p in terms.parts]
    return {
        "s": statement,
        "contract": contract,
        "parts": parts,
        "parts_max": sum(p.max for p in terms.parts),
        "ratio": format_rate(statement.payment_ratio) if statement.payment_ratio is not None else None,
        "ratio_percent": int(statement.payment_ratio * 100) if statement.payment_ratio is not None else None,
        "prepayment_fen": terms.prepayment_fen,
        "state_note": STATE_NOTE.get(statement.state, ""),
        "generated_at": timezone.localtime(),
        "unit_chars": terms.billing_unit_chars,
        "unit_price": format_unit_price(statement.unit_price),
        "units_text": f"{statement.units:,}",
        "period_start": days[0],
        "period_end": days[-1],
    }


def statement_pdf(statement: Statement) -> bytes:
    """The settlement sheet (结算单) on A4, in Chinese."""
    from weasyprint import HTML

    html = render_to_string("billing/statement_pdf.html", statement_context(statement))
    return HTML(string=html).write_pdf()


def statement_xlsx(statement: Statement) -> bytes:
    """The month's daily success units as a workbook: 日期, 成功条数, plus the total (cells escaped as every
    export's are: sms_contract.spreadsheets)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = f"{statement.period} 每日成功条数"
    xlsx_append(sheet, ["结算单编号", statement.number])
    xlsx_append(sheet, ["合同编号", statement.contract.number])
    xlsx_append(sheet, [])
    xlsx_append(sheet, ["日期", "成功条数"])
    for day, units in sorted(statement.daily_units.items()):
        xlsx_append(sheet, [date.fromisoformat(day), units])
    xlsx_append(sheet, ["合计", statement.units])
    xlsx_append(sheet, ["应付费用（元）", format_fen_grouped(statement.gross_fen)])
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 16
    for row in sheet.iter_rows(min_row=5, max_col=1):
        row[0].number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
