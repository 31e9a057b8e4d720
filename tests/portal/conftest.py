import pytest


@pytest.fixture
def daily_counts(contract):
    """daily_counts({date: (accepted_units, delivered_units)}) -> gateway DailyCount rows for the seed contract."""
    from gateway.models import DailyCount

    def _make(days: dict):
        for day, (accepted, delivered) in days.items():
            DailyCount.objects.create(
                contract=contract,
                day=day,
                accepted_messages=accepted,
                accepted_units=accepted,
                delivered_messages=delivered,
                delivered_units=delivered,
            )

    return _make


@pytest.fixture
def other_carrier_user(make_user):
    """A carrier user of another carrier party (with its own contract)."""
    from factories.contracts import ContractFactory

    other = ContractFactory()
    return make_user("carrier_staff", "other-carrier", party=other.supplier)
