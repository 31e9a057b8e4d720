"""Dashboard figures: fees at the unit price, the forecast of the contract total, SVG charts (pure)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.charts import bar_chart, line_chart
from portal.rules import fee_fen, forecast_total_reached, rate_percent

TODAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("units", "price", "fen"),
    [(0, "0.03", 0), (1, "0.03", 3), (1_000_000, "0.03", 3_000_000), (1, "0.035", 4), (1, "0.0349", 3)],
)
def test_fee_is_units_times_price_rounded_half_up_once(units, price, fen):
    assert fee_fen(units, Decimal(price)) == fen


def test_forecast_at_the_recent_pace():
    # 1,440,000.00 total, 1,000,000.00 used, 30 days at 10,000.00 a day -> 44 more days
    f = forecast_total_reached(
        consumed_fen=100_000_000, total_fen=144_000_000, recent_fen=30_000_000, recent_days=30, today=TODAY
    )
    assert f.remaining_fen == 44_000_000
    assert f.reached_on == TODAY + timedelta(days=44)
    assert f.percent == Decimal("69.44")
    assert f.daily_pace_fen == Decimal("1000000.00")


def test_forecast_rounds_a_partial_day_up():
    f = forecast_total_reached(consumed_fen=0, total_fen=1001, recent_fen=300, recent_days=30, today=TODAY)
    assert f.reached_on == TODAY + timedelta(days=101)  # 100 days reach 1000 fen, the 101st reaches 1001


def test_forecast_without_traffic_or_when_used_up():
    idle = forecast_total_reached(consumed_fen=5, total_fen=100, recent_fen=0, recent_days=30, today=TODAY)
    assert idle.reached_on is None and idle.already_reached is False
    done = forecast_total_reached(consumed_fen=120, total_fen=100, recent_fen=10, recent_days=30, today=TODAY)
    assert done.already_reached is True and done.remaining_fen == 0


def test_rate_percent():
    assert rate_percent(985, 1000) == Decimal("98.50")
    assert rate_percent(1, 3) == Decimal("33.33")
    assert rate_percent(0, 0) is None


def test_bar_chart_scales_bars_to_a_round_maximum_and_escapes_titles():
    days = [date(2026, 2, 27) + timedelta(days=i) for i in range(4)]
    svg = bar_chart(list(zip(days, [0, 50, 100, 75], strict=True)), title="<量>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "&lt;量&gt;" in svg and "<量>" not in svg
    assert svg.count('class="bar"') == 4
    assert ">200<" in svg and ">150<" in svg  # grid of a nice maximum (200) in exact quarters
    assert "3-01" in svg  # month starts are labelled


@pytest.mark.parametrize(("value", "top"), [(0, 4), (1, 4), (5, 8), (9, 20), (100, 200), (12_345, 20_000)])
def test_bar_chart_maximum_divides_into_four_exact_ticks(value, top):
    svg = bar_chart([(date(2026, 3, 1), value)], title="t")
    assert f">{top:,}<" in svg and f">{top * 3 // 4:,}<" in svg


def test_line_chart_breaks_at_missing_days():
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]
    values = [Decimal("99"), Decimal("98"), None, Decimal("97"), Decimal("96")]
    svg = line_chart(list(zip(days, values, strict=True)), title="送达率")
    assert svg.count("<polyline") == 2
    assert svg.count('class="dot"') == 4


@pytest.mark.parametrize(
    ("values", "floor"),
    [([Decimal("99.5"), Decimal("92")], 90), ([Decimal("89.99"), None], 50), ([Decimal("10")], 0), ([None], 0)],
)
def test_percent_axis_starts_high_when_every_rate_is_high(values, floor):
    from portal.charts import percent_floor

    assert percent_floor(values) == floor


def test_line_chart_labels_the_axis_from_its_floor():
    svg = line_chart([(date(2026, 3, 1), Decimal("99"))], title="送达率")
    assert ">90%<" in svg and ">95%<" in svg and ">100%<" in svg and ">25%<" not in svg


# --- The forecast is capped at the service term (issue 12: a 6-fen pace over 30 days overflowed date) ---

TERM_END = date(2026, 9, 14)


def test_forecast_past_the_term_end_says_so_instead_of_a_date():
    # the README's one demo notice: 2 units = 6 fen in the last 30 days against 1,440,000.00
    f = forecast_total_reached(
        consumed_fen=6, total_fen=144_000_000, recent_fen=6, recent_days=30, today=TODAY, term_end=TERM_END
    )
    assert f.reached_on is None and f.beyond_term is True and f.term_end == TERM_END
    assert f.already_reached is False and f.remaining_fen == 143_999_994


def test_forecast_on_the_term_end_itself_is_a_date():
    days_left = (TERM_END - TODAY).days
    f = forecast_total_reached(
        consumed_fen=0, total_fen=days_left * 100, recent_fen=3000, recent_days=30, today=TODAY, term_end=TERM_END
    )
    assert f.reached_on == TERM_END and f.beyond_term is False
    later = forecast_total_reached(
        consumed_fen=0, total_fen=days_left * 100 + 1, recent_fen=3000, recent_days=30, today=TODAY, term_end=TERM_END
    )
    assert later.reached_on is None and later.beyond_term is True


def test_forecast_without_a_term_end_never_overflows_the_calendar():
    f = forecast_total_reached(consumed_fen=0, total_fen=144_000_000, recent_fen=1, recent_days=30, today=date.max)
    assert f.reached_on is None and f.beyond_term is True


@settings(max_examples=300, deadline=None)
@given(
    consumed=st.integers(min_value=0, max_value=10**15),
    total=st.integers(min_value=1, max_value=10**15),
    recent=st.integers(min_value=0, max_value=10**15),
    recent_days=st.integers(min_value=0, max_value=3650),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(9999, 12, 30)),
    term_days=st.one_of(st.none(), st.integers(min_value=0, max_value=3660)),
)
def test_forecast_property_a_date_within_the_term_or_an_explicit_beyond(
    consumed, total, recent, recent_days, today, term_days
):
    term_end = None
    if term_days is not None and term_days <= (date.max - today).days:
        term_end = today + timedelta(days=term_days)
    f = forecast_total_reached(
        consumed_fen=consumed,
        total_fen=total,
        recent_fen=recent,
        recent_days=recent_days,
        today=today,
        term_end=term_end,
    )
    assert f.remaining_fen == max(total - consumed, 0)
    if f.already_reached:
        assert f.remaining_fen == 0 and f.reached_on == today
    elif f.reached_on is not None:
        assert not f.beyond_term and today < f.reached_on
        assert term_end is None or f.reached_on <= term_end
        # the named day is the first one at which the pace covers what is left
        days = (f.reached_on - today).days
        assert days * recent >= f.remaining_fen * recent_days > (days - 1) * recent
    elif f.beyond_term:
        # not reached by the cap at this pace
        cap = term_end or date.max
        assert (cap - today).days * recent < f.remaining_fen * recent_days
    else:
        assert recent <= 0 or recent_days <= 0  # no pace: no forecast
