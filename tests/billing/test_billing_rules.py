"""The contract's billing arithmetic, due dates and allocation rules, without a database."""

import json
from datetime import date, timedelta
from decimal import Decimal

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.rules import (
    CalendarNotCovered,
    Debt,
    add_months,
    ageing_bucket,
    allocate_payment,
    bill_due_date,
    billing_units,
    late_fee_fen,
    merge_daily_units,
    monthly_fee,
    percent_difference,
    statement_number,
)
from contracts.scheme import parse_ratio_bands, ratio_for_total
from contracts.services import SEED_CONTRACT_NUMBER, SEED_DIR

SEED = json.loads((SEED_DIR / f"{SEED_CONTRACT_NUMBER}.json").read_text(encoding="utf-8"))
BANDS = parse_ratio_bands(SEED["payment_ratio_bands"])
TOTAL_FEN = 144_000_000
PREPAYMENT_FEN = 14_400_000
PRICE = Decimal("0.03")
SIGNATURE = "【12123】"


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("", 0),
        (SIGNATURE + "a" * 63, 1),
        (SIGNATURE + "a" * 64, 2),
        (SIGNATURE + "您" * 63, 1),  # full-width characters count one each
        (SIGNATURE + "您" * 64, 2),
        ("x" * 140, 2),
        ("x" * 141, 3),
        ("😀" * 70, 1),
    ],
)
def test_billing_units_count_every_character_once_per_started_70(text, units):
    assert billing_units(text) == units


def test_billing_units_use_the_contracts_unit_length():
    assert billing_units("a" * 11, unit_chars=10) == 2
    with pytest.raises(ValueError):
        billing_units("a", unit_chars=0)


def fee(units, score, balance=PREPAYMENT_FEN, cumulative=0):
    return monthly_fee(
        units=units,
        unit_price=PRICE,
        ratio=ratio_for_total(score, BANDS),
        prepayment_balance_fen=balance,
        cumulative_payable_fen=cumulative,
        total_amount_fen=TOTAL_FEN,
    )


def test_month_one_with_score_85_is_paid_wholly_from_the_prepayment():
    f = fee(1_000_000, 85)
    assert f.gross_fen == 3_000_000
    assert f.payable_fen == 3_000_000
    assert f.prepayment_applied_fen == 3_000_000
    assert f.prepayment_balance_fen == 11_400_000  # 114,000.00
    assert f.net_due_fen == 0
    assert f.cumulative_payable_fen == 3_000_000
    assert f.contract_remaining_fen == 141_000_000


def test_score_75_pays_ninety_percent():
    f = fee(1_000_000, 75, balance=11_400_000, cumulative=3_000_000)
    assert f.payable_fen == 2_700_000
    assert f.prepayment_balance_fen == 8_700_000


def test_the_month_that_uses_the_prepayment_up_shows_the_split():
    f = fee(4_000_000, 90, balance=8_700_000, cumulative=5_700_000)
    assert f.payable_fen == 12_000_000
    assert f.prepayment_applied_fen == 8_700_000
    assert f.net_due_fen == 3_300_000
    assert f.prepayment_balance_fen == 0
    after = fee(1_000_000, 90, balance=f.prepayment_balance_fen, cumulative=f.cumulative_payable_fen)
    assert (after.prepayment_applied_fen, after.net_due_fen) == (0, 3_000_000)


def test_rounding_half_up_once_at_the_end():
    # 1,234,567 × 0.03 = 37,037.01; × 0.60 = 22,222.206 -> 22,222.21
    assert fee(1_234_567, 55, balance=0).payable_fen == 2_222_221
    # 0.005 fen rounds up: 1 unit × 0.0305 × 0.9 = 2.745 fen -> 3
    f = monthly_fee(
        units=1,
        unit_price=Decimal("0.0305"),
        ratio=Decimal("0.90"),
        prepayment_balance_fen=0,
        cumulative_payable_fen=0,
        total_amount_fen=100,
    )
    assert f.payable_fen == 3


def test_score_49_pays_nothing():
    f = fee(3_000_000, 49)
    assert (f.gross_fen, f.payable_fen, f.prepayment_applied_fen, f.net_due_fen) == (9_000_000, 0, 0, 0)
    assert f.prepayment_balance_fen == PREPAYMENT_FEN


def test_the_month_crossing_the_contract_total_holds_the_excess():
    f = fee(1_000_000, 100, balance=0, cumulative=143_000_000)
    assert f.payable_fen == 3_000_000
    assert f.billable_fen == 1_000_000
    assert f.held_fen == 2_000_000
    assert f.cumulative_payable_fen == TOTAL_FEN
    assert f.contract_remaining_fen == 0
    beyond = fee(1_000_000, 100, balance=0, cumulative=TOTAL_FEN)
    assert (beyond.billable_fen, beyond.held_fen, beyond.net_due_fen) == (0, 3_000_000, 0)


def test_monthly_fee_refuses_nonsense():
    with pytest.raises(ValueError):
        fee(-1, 80)
    with pytest.raises(ValueError):
        monthly_fee(
            units=1,
            unit_price=PRICE,
            ratio=Decimal("1.1"),
            prepayment_balance_fen=0,
            cumulative_payable_fen=0,
            total_amount_fen=1,
        )


@given(
    months=st.lists(st.tuples(st.integers(0, 10_000_000), st.integers(0, 100)), min_size=1, max_size=14),
)
def test_prepayment_never_negative_and_cumulative_never_beyond_total(months):
    balance, cumulative = PREPAYMENT_FEN, 0
    for units, score in months:
        f = fee(units, score, balance=balance, cumulative=cumulative)
        assert f.prepayment_balance_fen >= 0
        assert f.prepayment_applied_fen + f.net_due_fen == f.billable_fen
        assert f.billable_fen + f.held_fen == f.payable_fen
        assert f.cumulative_payable_fen <= TOTAL_FEN
        balance, cumulative = f.prepayment_balance_fen, f.cumulative_payable_fen
    assert balance == max(0, PREPAYMENT_FEN - cumulative)


@given(units=st.integers(0, 10_000_000), score=st.integers(0, 100))
def test_the_ratio_always_matches_the_band(units, score):
    expected = {range(80, 101): 100, range(70, 80): 90, range(60, 70): 80, range(50, 60): 60, range(0, 50): 0}
    percent = next(p for r, p in expected.items() if score in r)
    f = fee(units, score, balance=0)
    # exact expectation: units × 3 fen × percent / 100, half up
    assert f.payable_fen == (units * 3 * percent * 2 + 100) // 200


# --- due dates ----------------------------------------------------------------------------------------------


def official(first: date, last: date) -> dict[date, bool]:
    days, day = {}, first
    while day <= last:
        days[day] = chinese_calendar.is_workday(day)
        day += timedelta(days=1)
    return days


CAL = official(date(2025, 1, 1), date(2026, 12, 31))


@pytest.mark.parametrize(
    ("period", "due"),
    [
        ((2025, 9), date(2025, 10, 15)),  # National Day holidays end 10-08; the 15th is a Wednesday
        ((2025, 10), date(2025, 11, 17)),  # 2025-11-15 is a Saturday
        ((2025, 12), date(2026, 1, 15)),
        ((2026, 1), date(2026, 2, 24)),  # 2026-02-15..23 Spring Festival; 02-14 is a make-up day but before
        ((2026, 2), date(2026, 3, 16)),  # 2026-03-15 is a Sunday
    ],
)
def test_bill_due_dates_pinned(period, due):
    assert bill_due_date(*period, CAL) == due


def test_make_up_working_day_counts_as_working_day():
    # 2025-09-28 (Sunday) is a make-up working day for National Day.
    assert bill_due_date(2025, 8, CAL, due_day=28) == date(2025, 9, 28)


def test_due_date_in_a_year_without_calendar_is_an_error():
    with pytest.raises(CalendarNotCovered, match="2027-01-15"):
        bill_due_date(2026, 12, {})


def test_bill_due_dates_follow_the_official_calendar_2025_09_to_2026_12():
    """Every due date falling in 2025-09..2026-12 (bills for 2025-08..2026-11), computed independently."""
    cal = official(date(2025, 1, 1), date(2026, 12, 31))
    checked = 0
    for index in range(16):
        year, month = divmod(2025 * 12 + 7 + index, 12)
        month += 1
        y2, m2 = (year + 1, 1) if month == 12 else (year, month + 1)
        expected = date(y2, m2, 15)
        while not chinese_calendar.is_workday(expected):
            expected += timedelta(days=1)
        assert bill_due_date(year, month, cal) == expected, (year, month)
        checked += 1
    assert checked == 16
    # The December 2026 bill falls due in January 2027, which the package does not cover yet: an error.
    with pytest.raises(CalendarNotCovered):
        bill_due_date(2026, 12, cal)


# --- allocation, late fees, ageing ---------------------------------------------------------------------------


def test_payment_settles_the_oldest_due_first():
    debts = [Debt(3, date(2026, 1, 15), 500), Debt(1, date(2025, 11, 17), 300), Debt(2, date(2025, 12, 15), 400)]
    a = allocate_payment(600, debts)
    assert a.lines == ((1, 300), (2, 300))
    assert a.unallocated_fen == 0
    over = allocate_payment(1500, debts)
    assert over.lines == ((1, 300), (2, 400), (3, 500))
    assert over.unallocated_fen == 300


@given(
    amount=st.integers(0, 10**10),
    debts=st.lists(st.tuples(st.dates(date(2025, 1, 1), date(2027, 1, 1)), st.integers(0, 10**9)), max_size=20),
)
def test_allocations_always_sum_to_the_payment(amount, debts):
    ds = [Debt(i, due, fen) for i, (due, fen) in enumerate(debts)]
    a = allocate_payment(amount, ds)
    assert sum(f for _, f in a.lines) + a.unallocated_fen == amount
    outstanding = {d.key: d.outstanding_fen for d in ds}
    assert all(0 < f <= outstanding[k] for k, f in a.lines)
    if a.unallocated_fen:
        assert sum(f for _, f in a.lines) == sum(outstanding.values())
    # oldest first: no debt is touched while an older one stays open
    settled = dict(a.lines)
    by_age = sorted(ds, key=lambda d: (d.due_on, d.key))
    open_seen = False
    for d in by_age:
        if d.outstanding_fen == 0:
            continue
        if open_seen:
            assert d.key not in settled
        if settled.get(d.key, 0) < d.outstanding_fen:
            open_seen = True


def test_late_fee_defaults_to_zero_and_uses_the_daily_rate():
    kw = {"outstanding_fen": 1_000_000, "due_on": date(2025, 11, 17), "today": date(2025, 12, 17)}
    assert late_fee_fen(daily_rate=Decimal("0"), **kw) == 0
    assert late_fee_fen(daily_rate=Decimal("0.0005"), **kw) == 15_000  # 30 days × 0.05%
    assert late_fee_fen(daily_rate=Decimal("0.0005"), **{**kw, "today": date(2025, 11, 17)}) == 0


@pytest.mark.parametrize(
    ("days", "bucket"), [(-1, None), (0, "0-30"), (30, "0-30"), (31, "31-60"), (61, "61-90"), (91, ">90")]
)
def test_ageing_buckets(days, bucket):
    due = date(2025, 11, 17)
    assert ageing_bucket(due_on=due, today=due + timedelta(days=days)) == bucket


def test_small_helpers():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 20), 12) == date(2026, 11, 20)
    assert statement_number(contract_number="JSZC-320300-HWZX-D2025-0524", year=2025, month=10, sequence=1) == (
        "JS-202510-0524-01"
    )
    assert percent_difference(1000, 1010) == Decimal("1.00")
    assert percent_difference(0, 5) is None
    gw = {date(2025, 10, 1): 5, date(2025, 10, 2): 7}
    assert merge_daily_units(gw, {date(2025, 10, 2): 0, date(2025, 10, 3): 4}) == {
        date(2025, 10, 1): 5,
        date(2025, 10, 2): 0,
        date(2025, 10, 3): 4,
    }
