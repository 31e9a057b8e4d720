"""The signed assessment sheet (项目考核表) as PDF, rendered by WeasyPrint from an HTML template."""

from django.template.loader import render_to_string

from assessment.models import Assessment
from assessment.rules import BAND_LABELS
from contracts.scheme import band_for_score
from contracts.selectors import contract_terms
from sms_contract.money import format_rate


def assessment_sheet_context(assessment: Assessment) -> dict:
    terms = contract_terms(assessment.contract)
    rows = [
        {
            "name": part.name,
            "max": part.max,
            "score": assessment.scores.get(part.code),
            "band": BAND_LABELS[band_for_score(part, assessment.scores[part.code])],
            "reason": assessment.reasons.get(part.code, ""),
        }
        for part in terms.parts
        if part.code in assessment.scores
    ]
    return {
        "assessment": assessment,
        "contract": assessment.contract,
        "rows": rows,
        "max_total": sum(p.max for p in terms.parts),
        "payment_ratio": format_rate(assessment.payment_ratio),
        "payment_percent": int(assessment.payment_ratio * 100),
        "ratio_bands": [{"min": b.min, "max": b.max, "percent": int(b.ratio * 100)} for b in terms.ratio_bands],
    }


def assessment_pdf(assessment: Assessment) -> bytes:
    from weasyprint import HTML

    html = render_to_string("assessment/assessment_pdf.html", assessment_sheet_context(assessment))
    return HTML(string=html).write_pdf()
