import pytest
from factories.assessment import FULL_SCORES


@pytest.fixture
def record(contract, police_user):
    """record(reasons=..., **scores) -> the seed contract's 2025-10 assessment, recorded by police staff."""
    from assessment.services import assessment_record

    def _record(reasons=None, month=10, **scores):
        return assessment_record(
            contract=contract,
            year=2025,
            month=month,
            scores={**FULL_SCORES, **scores},
            reasons=reasons or {},
            by=police_user,
        )

    return _record
