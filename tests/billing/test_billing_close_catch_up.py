"""Statements on time (5.3): the daily close catches up every finished month not yet closed, and closes of one
contract take turns, so two at once give one statement and no failed task."""

import threading
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from billing.models import Statement
from billing.rules import months_to_close
from billing.services.statements import statement_close_month, statements_close_due
from billing.tasks import close_month_task

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("first", "last", "closed", "expected"),
    [
        (date(2025, 9, 1), date(2025, 11, 30), [], [(2025, 9), (2025, 10), (2025, 11)]),
        (date(2025, 9, 15), date(2025, 11, 30), [(2025, 10)], [(2025, 9), (2025, 11)]),
        (date(2025, 11, 3), date(2026, 2, 28), [(2025, 11), (2025, 12)], [(2026, 1), (2026, 2)]),  # across the year
        (date(2025, 9, 1), date(2025, 8, 31), [], []),  # nothing finished yet
        (date(2025, 9, 1), date(2025, 10, 31), [(2025, 9), (2025, 10)], []),
    ],
)
def test_months_to_close_are_the_finished_months_without_a_statement(first, last, closed, expected):
    assert months_to_close(first=first, last=last, closed=closed) == expected


@pytest.mark.django_db
def test_a_missed_close_is_made_on_a_later_day(contract, gateway_days, set_outcome):
    """The seed contract was signed 2025-09-01. Nothing ran on 1 Dec (worker down): on 5 Dec every finished month
    gets its statement, oldest first, with the prepayment carried through them."""
    gateway_days({date(2025, 9, 20): 1000, date(2025, 10, 2): 2000, date(2025, 11, 3): 3000})
    set_outcome({})
    closed = statements_close_due(today=date(2025, 12, 5))
    assert [(s.year, s.month, s.units) for s in closed] == [(2025, 9, 1000), (2025, 10, 2000), (2025, 11, 3000)]
    assert statements_close_due(today=date(2025, 12, 6)) == []  # the next day: nothing left to close
    assert [s.number for s in statements_close_due(today=date(2026, 1, 1))] == ["JS-202512-0524-01"]
    assert Statement.objects.filter(kind="monthly").count() == 4


@pytest.mark.django_db
def test_the_beat_task_closes_what_is_missing_and_keeps_what_is_closed(contract, gateway_days, set_outcome):
    gateway_days({date(2025, 10, 2): 2000})
    set_outcome({})
    october = statement_close_month(contract=contract, year=2025, month=10)
    with time_machine.travel(datetime(2025, 12, 1, 2, 0, tzinfo=TZ)):
        assert close_month_task.delay().get() == ["JS-202509-0524-01", "JS-202511-0524-01"]
    october.refresh_from_db()
    assert october.units == 2000


@pytest.mark.django_db
def test_close_month_due_command_catches_up(contract, gateway_days, set_outcome, capsys):
    from django.core.management import call_command

    gateway_days({})
    set_outcome({})
    with time_machine.travel(datetime(2025, 11, 3, 9, 0, tzinfo=TZ)):
        call_command("close_month", "--due")
    out = capsys.readouterr().out
    assert "JS-202509-0524-01 draft" in out and "JS-202510-0524-01 draft" in out


@pytest.mark.django_db
def test_a_terminated_contract_is_closed_up_to_its_last_month(contract, gateway_days, set_outcome):
    gateway_days({})
    set_outcome({})
    contract.terminated_on = date(2025, 10, 20)
    contract.save(update_fields=["terminated_on"])
    assert [(s.year, s.month) for s in statements_close_due(today=date(2026, 3, 2))] == [(2025, 9), (2025, 10)]


@pytest.mark.postgres
# Serialized rollback: this runs before the browser tests, which expect the database as migrated.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_simultaneous_first_closes_give_one_statement_and_no_failed_task(
    contract, gateway_days, set_outcome, monkeypatch
):
    """Beat's close and a manual one (or a redelivered task) at the same moment: before, the second failed with
    IntegrityError; now it waits its turn and recomputes the first's draft."""
    if connection.vendor != "postgresql":
        pytest.skip("needs two concurrent transactions with row locks (PostgreSQL)")
    import billing.services.statements as statements

    gateway_days({date(2025, 10, 2): 2000})
    set_outcome({})
    figures = statements._figures

    def slow_figures(**kwargs):
        time.sleep(0.5)  # both closes are computing at once unless they take turns
        return figures(**kwargs)

    monkeypatch.setattr(statements, "_figures", slow_figures)
    results, errors = [], []

    def close():
        try:
            results.append(close_month_task(2025, 10))
        except Exception as exc:  # noqa: BLE001 - the test reports any failure
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert results == [["JS-202510-0524-01"], ["JS-202510-0524-01"]]
    assert Statement.objects.filter(contract=contract, year=2025, month=10).count() == 1
