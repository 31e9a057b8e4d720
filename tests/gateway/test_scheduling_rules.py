"""The pure rules of priorities, windows, send_at and back-off (gateway.scheduling)."""

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import scheduling
from gateway.callbacks.delivery import DeliveryConfig, retry_backoff
from gateway.scheduling import SHANGHAI


def test_priority_comes_from_the_request_else_the_notice_type():
    assert scheduling.priority_rank("urgent", "bulk") == 0
    assert scheduling.priority_rank(None, "bulk") == 2
    assert scheduling.priority_rank(None, None) == 1
    with pytest.raises(ValueError):
        scheduling.priority_rank("asap", None)


def test_weights_need_every_priority_at_least_one():
    assert scheduling.parse_weights("urgent=16,normal=4,bulk=1") == {0: 16, 1: 4, 2: 1}
    for bad in ("urgent=16,normal=4", "urgent=16,normal=4,bulk=0", "urgent=x,normal=1,bulk=1"):
        with pytest.raises(ValueError):
            scheduling.parse_weights(bad)


@given(st.integers(1, 5000), st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_quotas_fill_the_claim_and_give_every_priority_a_share(limit, u, n, b):
    quotas = dict(scheduling.claim_quotas(limit, {0: u, 1: n, 2: b}))
    assert sum(quotas.values()) == limit
    assert all(q >= 1 for q in quotas.values())
    assert len(quotas) == min(limit, 3)


def test_window_next_open():
    start, end = time(8), time(21)
    at = datetime(2026, 12, 1, 22, 0, tzinfo=SHANGHAI)
    assert scheduling.window_next_open(at, start, end) == datetime(2026, 12, 2, 8, 0, tzinfo=SHANGHAI)
    early = datetime(2026, 12, 1, 6, 0, tzinfo=SHANGHAI)
    assert scheduling.window_next_open(early, start, end) == datetime(2026, 12, 1, 8, 0, tzinfo=SHANGHAI)
    noon = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai: open
    assert scheduling.window_next_open(noon, start, end) == noon
    assert scheduling.window_next_open(at, None, None) == at  # no window


def test_a_window_across_midnight():
    start, end = time(22), time(6)
    assert scheduling.window_open(time(23), start, end) and scheduling.window_open(time(5), start, end)
    assert not scheduling.window_open(time(12), start, end)


def test_send_at_must_have_an_offset_and_fall_within_validity():
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    valid = now + timedelta(hours=24)
    assert scheduling.parse_send_at("2026-12-01T18:00:00+08:00", now=now, valid_until=valid) == datetime(
        2026, 12, 1, 10, 0, tzinfo=UTC
    )
    assert scheduling.parse_send_at("2026-11-30T00:00:00Z", now=now, valid_until=valid) is None  # past: now
    for bad, reason in (
        ("2026-12-01T18:00:00", "offset"),
        ("tomorrow", "ISO 8601"),
        ("2026-12-03T00:00:00+08:00", "validity"),
    ):
        with pytest.raises(ValueError, match=reason):
            scheduling.parse_send_at(bad, now=now, valid_until=valid)


def test_earliest_send_combines_send_at_and_window():
    now = datetime(2026, 12, 1, 20, 0, tzinfo=SHANGHAI)
    send_at = datetime(2026, 12, 1, 21, 30, tzinfo=SHANGHAI)
    assert scheduling.earliest_send(now=now, send_at=send_at, start=time(8), end=time(21)) == datetime(
        2026, 12, 2, 8, 0, tzinfo=SHANGHAI
    )
    assert scheduling.earliest_send(now=now, send_at=None, start=time(8), end=time(21)) is None


def test_callback_back_off_doubles_up_to_the_cap_times_a_factor_from_half_to_one():
    cfg = DeliveryConfig(backoff_base=2.0, backoff_max=300.0)
    wait = retry_backoff(cfg).delay
    assert wait(0, 0.999999) == pytest.approx(2, rel=1e-5)  # the first retry: at most the base
    assert wait(3, 0.0) == pytest.approx(8.0)  # 2 × 2^3 = 16, times 0.5
    assert wait(19, 0.999999) == pytest.approx(300, rel=1e-5)  # capped
    assert wait(19, 0.0) == pytest.approx(150)
