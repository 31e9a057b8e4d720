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


@pytest.fixture
def issued_statement(contract):
    """issued_statement(year, month, net_due_fen, due_on) -> an issued monthly statement of the seed contract."""
    from decimal import Decimal

    from billing.models import Statement

    def _make(year: int, month: int, net_due_fen: int, due_on):
        return Statement.objects.create(
            contract=contract,
            year=year,
            month=month,
            number=f"JS-{year}{month:02d}-01",
            state=Statement.State.ISSUED,
            unit_price=Decimal("0.03"),
            units=net_due_fen // 3,
            gross_fen=net_due_fen,
            payable_fen=net_due_fen,
            billable_fen=net_due_fen,
            net_due_fen=net_due_fen,
            due_on=due_on,
        )

    return _make
