import pytest


@pytest.fixture
def set_outcome(monkeypatch):
    """set_outcome({(2025, 10): outcome(85)}) -> the assessment app's selector answers these months."""
    import assessment.selectors

    def _set(by_month: dict):
        def fake(*, contract_id, year, month):
            return by_month.get((year, month))

        monkeypatch.setattr(assessment.selectors, "assessment_outcome", fake)

    return _set


@pytest.fixture
def gateway_days(monkeypatch):
    """gateway_days({date: units}) -> the gateway's daily counts; gateway_ids([...]) -> its Msg_Ids."""
    import gateway.selectors

    def _set(days: dict, ids: list[int] | None = None):
        monkeypatch.setattr(
            gateway.selectors,
            "daily_success_units",
            lambda *, contract_id, start, end: {d: u for d, u in days.items() if start <= d <= end},
        )
        monkeypatch.setattr(gateway.selectors, "carrier_msg_ids", lambda *, contract_id, start, end: iter(ids or []))

    return _set


@pytest.fixture
def locked(monkeypatch):
    """Records the assessment ids billing asks the assessment app to lock."""
    import assessment.services

    calls: list[int] = []
    monkeypatch.setattr(assessment.services, "assessment_lock", lambda *, assessment_id: calls.append(assessment_id))
    return calls
