"""Service term, renewal deadline, 4.5 stop date and 7.2 confidentiality arithmetic (pure, no database)."""

from datetime import date

import pytest

from contracts.rules import (
    add_months,
    confidentiality_end,
    earliest_stop_date,
    lifecycle,
    renewal_decision_deadline,
    term,
    term_ended_by_non_renewal,
    term_on,
)

LC = dict(
    service_months=12, auto_renew=True, renewal_notice_days=90, termination_notice_days=90, confidentiality_years=2
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2025, 9, 15), 12, date(2026, 9, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 12, 31), 2, date(2026, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_month_end(day, months, expected):
    assert add_months(day, months) == expected


def test_first_term_ends_the_day_before_the_anniversary_and_deadline_is_90_days_earlier():
    first = term(date(2025, 9, 15), 12, 0)
    assert (first.start, first.end) == (date(2025, 9, 15), date(2026, 9, 14))
    assert renewal_decision_deadline(first.end, 90) == date(2026, 6, 16)
    assert (first.end - date(2026, 6, 16)).days == 90


def test_renewed_term_follows_without_gap():
    second = term(date(2025, 9, 15), 12, 1)
    assert (second.start, second.end) == (date(2026, 9, 15), date(2027, 9, 14))
    assert renewal_decision_deadline(second.end, 90) == date(2027, 6, 16)


@pytest.mark.parametrize(
    ("activated", "index", "start", "end"),
    [
        # leap-day activation: terms start on Feb 28 in common years and Feb 29 again in 2028
        (date(2024, 2, 29), 0, date(2024, 2, 29), date(2025, 2, 27)),
        (date(2024, 2, 29), 1, date(2025, 2, 28), date(2026, 2, 27)),
        (date(2024, 2, 29), 3, date(2027, 2, 28), date(2028, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29), date(2029, 2, 27)),
        # month-end activation does not drift
        (date(2025, 1, 31), 0, date(2025, 1, 31), date(2026, 1, 30)),
        (date(2025, 1, 31), 2, date(2027, 1, 31), date(2028, 1, 30)),
        # a term across a leap day has 366 days
        (date(2023, 3, 1), 0, date(2023, 3, 1), date(2024, 2, 29)),
    ],
)
def test_terms_are_counted_from_the_activation_date(activated, index, start, end):
    t = term(activated, 12, index)
    assert (t.start, t.end) == (start, end)


def test_deadline_in_a_leap_year_counts_feb_29():
    t = term(date(2023, 5, 1), 12, 0)  # ends 2024-04-30
    assert renewal_decision_deadline(t.end, 90) == date(2024, 1, 31)


@pytest.mark.parametrize(
    ("today", "index"),
    [
        (date(2025, 1, 1), 0),  # before activation
        (date(2025, 9, 15), 0),
        (date(2026, 9, 14), 0),
        (date(2026, 9, 15), 1),
        (date(2030, 9, 14), 4),
        (date(2030, 9, 15), 5),
    ],
)
def test_term_on_finds_the_term_containing_today(today, index):
    assert term_on(date(2025, 9, 15), 12, today).index == index


@pytest.mark.parametrize(
    ("delivered", "ends_on"),
    [
        (date(2026, 6, 16), date(2026, 9, 14)),  # on the deadline: in time
        (date(2026, 6, 17), date(2027, 9, 14)),  # one day late: the renewed term runs to its end
        (date(2025, 10, 1), date(2026, 9, 14)),
    ],
)
def test_non_renewal_notice_on_the_deadline_stops_renewal_one_day_later_does_not(delivered, ends_on):
    assert term_ended_by_non_renewal(date(2025, 9, 15), 12, 90, delivered).end == ends_on


def test_termination_needs_90_days_and_confidentiality_runs_2_years_after():
    assert earliest_stop_date(date(2026, 1, 10), 90) == date(2026, 4, 10)
    assert confidentiality_end(date(2026, 9, 14), 2) == date(2028, 9, 14)
    assert confidentiality_end(date(2026, 2, 28), 2) == date(2028, 2, 28)


def test_lifecycle_keeps_renewing_without_notice():
    lc = lifecycle(activated_on=date(2025, 9, 15), today=date(2026, 10, 1), **LC)
    assert lc.current_term.index == 1
    assert lc.renews is True and lc.service_end is None and lc.confidentiality_end is None
    assert lc.renewal_deadline == date(2027, 6, 16)
    assert lc.days_to_renewal_deadline == (date(2027, 6, 16) - date(2026, 10, 1)).days


def test_lifecycle_with_non_renewal_ends_the_service_and_starts_confidentiality():
    lc = lifecycle(
        activated_on=date(2025, 9, 15), today=date(2026, 7, 1), non_renewal_delivered_on=date(2026, 6, 1), **LC
    )
    assert lc.service_end == date(2026, 9, 14)
    assert lc.renews is False
    assert lc.confidentiality_end == date(2028, 9, 14)


def test_lifecycle_without_auto_renew_ends_after_the_first_term_and_termination_date_wins():
    lc = lifecycle(activated_on=date(2025, 9, 15), today=date(2025, 10, 1), **{**LC, "auto_renew": False})
    assert lc.service_end == date(2026, 9, 14)
    lc = lifecycle(
        activated_on=date(2025, 9, 15),
        today=date(2026, 5, 1),
        termination_delivered_on=date(2026, 1, 5),
        terminated_on=date(2026, 4, 30),
        **LC,
    )
    assert lc.earliest_stop == date(2026, 4, 5)
    assert lc.service_end == date(2026, 4, 30)
    assert lc.confidentiality_end == date(2028, 4, 30)


def test_lifecycle_before_activation_has_no_dates():
    lc = lifecycle(activated_on=None, today=date(2025, 9, 2), **LC)
    assert lc.current_term is None and lc.renewal_deadline is None and lc.service_end is None
