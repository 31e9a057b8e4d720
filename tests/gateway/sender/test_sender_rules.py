"""Pure parts of the sender: message outcome, opt-out words, the node health policy."""

from datetime import UTC, date, datetime

import pytest

from gateway.events import OutageKind
from gateway.sender import rules
from gateway.sender.outages import OutageWatch, WatchedNode
from gateway.sender.policy import (
    NodeHealth,
    NodeState,
    PolicyConfig,
    WeightedPicker,
    on_answer,
    on_connected,
    on_disconnected,
    on_heartbeat,
    tick,
    traffic_share,
    wants_probe,
)


@pytest.mark.parametrize(
    ("stats", "expected", "outcome"),
    [
        (["DELIVRD"], 1, ("delivered", "DELIVRD")),
        (["DELIVRD", ""], 2, None),
        (["DELIVRD"], 2, None),
        (["DELIVRD", "DELIVRD", "DELIVRD"], 3, ("delivered", "DELIVRD")),
        (["DELIVRD", "UNDELIV"], 2, ("failed", "UNDELIV")),
        (["", "EXPIRED"], 2, ("failed", "EXPIRED")),
        ([], 1, None),
    ],
)
def test_message_outcome_needs_every_segment_delivered(stats, expected, outcome):
    assert rules.message_outcome(stats, expected) == outcome


@pytest.mark.parametrize("text", ["TD", "td", " T ", "t", "退订", "  退订\n", "Td"])
def test_opt_out_words(text):
    assert rules.is_opt_out(text) is True


@pytest.mark.parametrize("text", ["TDD", "退订吧", "好的", "", "T D"])
def test_other_uplink_texts_do_not_opt_out(text):
    assert rules.is_opt_out(text) is False


def test_counting_day_is_shanghai():
    assert rules.counting_day(datetime(2026, 1, 31, 16, 30, tzinfo=UTC)) == date(2026, 2, 1)
    assert rules.counting_day(datetime(2026, 1, 31, 15, 59, tzinfo=UTC)) == date(2026, 1, 31)


@pytest.mark.parametrize(("raw", "mobile"), [("8613912345678", "13912345678"), ("+8613912345678", "13912345678")])
def test_uplink_numbers_lose_the_country_code(raw, mobile):
    assert rules.normalise_mobile(raw) == mobile


CFG = PolicyConfig(probation_seconds=10, ramp_seconds=30, ramp_floor=0.1, min_samples=10, max_error_rate=0.5)


def test_first_connection_gives_full_traffic_at_once():
    h = NodeHealth("a")
    assert traffic_share(h, 0, CFG) == 0
    on_connected(h, 100, CFG)
    assert h.state is NodeState.UP
    assert traffic_share(h, 100, CFG) == 1.0


def test_lost_node_gets_no_traffic_then_probation_then_a_gradual_return():
    h = NodeHealth("a")
    on_connected(h, 0, CFG)
    assert on_disconnected(h, 50, "connection lost") is True
    assert traffic_share(h, 50, CFG) == 0
    on_connected(h, 59, CFG)
    assert h.state is NodeState.DOWN and wants_probe(h, 59)  # a login alone is not enough
    tick(h, 59.5, CFG)
    assert h.state is NodeState.DOWN
    on_heartbeat(h, 60)
    tick(h, 60, CFG)
    assert h.state is NodeState.PROBATION
    assert traffic_share(h, 65, CFG) == 0
    tick(h, 69.9, CFG)
    assert h.state is NodeState.PROBATION
    tick(h, 70, CFG)
    assert h.state is NodeState.UP
    assert traffic_share(h, 70, CFG) == pytest.approx(0.1)
    assert traffic_share(h, 85, CFG) == pytest.approx(0.55)
    assert traffic_share(h, 100, CFG) == 1.0


def test_node_that_keeps_refusing_loses_its_traffic_and_cools_down():
    h = NodeHealth("a")
    on_connected(h, 0, CFG)
    for i in range(9):
        on_answer(h, 1 + i * 0.01, error=True, cfg=CFG)
    assert h.state is NodeState.UP  # too few samples yet
    assert on_answer(h, 1.2, error=True, cfg=CFG) is True
    assert h.state is NodeState.DOWN
    assert traffic_share(h, 2, CFG) == 0
    tick(h, 5, CFG)
    assert h.state is NodeState.DOWN  # still held: cool-down of one probation period
    on_heartbeat(h, 6)  # an answer during the hold is no evidence for after it
    tick(h, 11.2, CFG)
    assert h.state is NodeState.DOWN and wants_probe(h, 11.2)
    on_heartbeat(h, 11.2)
    tick(h, 11.2, CFG)
    assert h.state is NodeState.PROBATION
    tick(h, 21.2, CFG)
    assert h.state is NodeState.UP
    assert traffic_share(h, 21.2, CFG) == pytest.approx(0.1)


def test_occasional_refusals_keep_the_node():
    h = NodeHealth("a")
    on_connected(h, 0, CFG)
    for i in range(100):
        on_answer(h, i * 0.05, error=i % 3 == 0, cfg=CFG)
    assert h.state is NodeState.UP


def test_weighted_picker_follows_weights_and_skips_zero():
    picker = WeightedPicker()
    picks = [picker.pick({"a": 3, "b": 1, "c": 0}) for _ in range(400)]
    assert picks.count("a") == 300
    assert picks.count("b") == 100
    assert picker.pick({"a": 0, "b": 0}) is None


def test_stalled_node_is_not_brought_back_by_the_timer_alone():
    """The hold ends but the node answers nothing: it stays DOWN however long we wait."""
    h = NodeHealth("a")
    on_connected(h, 0, CFG)
    h.held_until = 15
    on_disconnected(h, 5, "submits not answered")
    h.connected = True  # the TCP connection is still open
    for t in range(5, 200):
        tick(h, t, CFG)
    assert h.state is NodeState.DOWN and traffic_share(h, 200, CFG) == 0


def _storm(h, start):
    for i in range(10):
        on_answer(h, start + i * 0.01, error=True, cfg=CFG)
    assert h.state is NodeState.DOWN
    return h.held_until - start


def _recover(h, at):
    on_heartbeat(h, at)
    tick(h, at, CFG)
    tick(h, at + CFG.probation_seconds, CFG)
    assert h.state is NodeState.UP


def test_good_behaviour_resets_the_relapse_count():
    h = NodeHealth("a")
    on_connected(h, 0, CFG)
    assert _storm(h, 1) == pytest.approx(10, abs=0.1)
    _recover(h, 12)
    assert _storm(h, 30) == pytest.approx(20, abs=0.1)  # a relapse soon after: held twice as long
    _recover(h, 51)
    tick(h, 61 + CFG.good_seconds, CFG)  # an hour of good service later...
    assert h.relapses == 0
    assert _storm(h, 3600) == pytest.approx(10, abs=0.1)  # ...a new storm starts from the first cool-down


def _watched(*usable):
    return [WatchedNode(i, f"n{i}", 7, up) for i, up in enumerate(usable, 1)]


def test_every_node_down_is_reported_once_after_its_threshold():
    watch = OutageWatch(node_down_seconds=600, all_down_seconds=30)
    watch.start(0)
    for node_id in (1, 2):
        watch.node_added(node_id, 0)
    assert watch.check(_watched(False, False), 29) == []
    (due,) = watch.check(_watched(False, False), 30)
    assert (due.kind, due.contract_id, due.node_names, due.down_seconds) == (OutageKind.ALL_NODES, 7, ("n1", "n2"), 30)
    assert watch.check(_watched(False, False), 300) == []  # the same outage: not again
    watch.check(_watched(True, False), 301)  # a node came back: the next outage is a new one
    watch.node_up(1)
    assert watch.check(_watched(False, False), 331) == []
    assert [d.kind for d in watch.check(_watched(False, False), 361)] == [OutageKind.ALL_NODES]


def test_one_node_down_too_long_is_reported_once_per_outage():
    watch = OutageWatch(node_down_seconds=600, all_down_seconds=30)
    watch.start(0)
    watch.node_added(1, 0)
    watch.node_added(2, 0)
    watch.node_up(1)
    watch.node_up(2)
    watch.node_down(2, 100)
    watch.node_down(2, 200)  # still the same outage: it started at 100
    assert watch.check(_watched(True, False), 699) == []
    (due,) = watch.check(_watched(True, False), 700)
    assert (due.kind, due.node_names, due.down_seconds) == (OutageKind.NODE, ("n2",), 600)
    assert watch.check(_watched(True, False), 5000) == []
    watch.node_up(2)
    watch.node_down(2, 6000)
    assert [d.node_names for d in watch.check(_watched(True, False), 6600)] == [("n2",)]
    watch.node_removed(2)  # disabled in the admin: nothing more to report about it
    assert watch.check(_watched(True), 99_999) == []
