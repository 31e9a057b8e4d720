"""Reads from the assessment app that other apps use."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AssessmentOutcome:
    assessment_id: int
    total: int
    payment_ratio: Decimal
    scores: dict[str, int]
    signed: bool


def assessment_outcome(*, contract_id: int, year: int, month: int) -> AssessmentOutcome | None:
    """The month's assessment for billing (None when there is none yet).

    Interface stub: the assessment app fills this in.
    """
    return None
