"""Pure parts: Msg_Id layout, generator and signed storage, timestamps, SMPP times, the back-off, token bucket."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.carrier.backoff import Backoff
from gateway.cmpp.auth import authenticator_source, timestamp_from_struct, timestamp_text
from gateway.cmpp.msgid import (
    MSG_ID_LIMIT,
    MsgIdGenerator,
    msg_id_from_signed,
    msg_id_to_signed,
    pack_msg_id,
    unpack_msg_id,
)
from gateway.cmpp.ratelimit import TokenBucket
from gateway.cmpp.text import smpp_time


@given(st.integers(0, 2**64 - 1))
def test_msg_id_unpack_pack_round_trip(msg_id: int) -> None:
    p = unpack_msg_id(msg_id)
    assert pack_msg_id(p.month, p.day, p.hour, p.minute, p.second, p.gateway, p.sequence) == msg_id


@given(st.integers(0, MSG_ID_LIMIT - 1))
def test_msg_id_round_trips_through_a_signed_64_bit_integer(msg_id: int) -> None:
    stored = msg_id_to_signed(msg_id)
    assert -(2**63) <= stored < 2**63
    assert (stored < 0) == (msg_id >= 2**63)  # the same bits: the top bit is the sign
    assert msg_id_from_signed(stored) == msg_id


@given(st.integers(-(2**63), 2**63 - 1))
def test_a_stored_signed_value_maps_back_to_itself(stored: int) -> None:
    assert msg_id_to_signed(msg_id_from_signed(stored)) == stored


@pytest.mark.parametrize("bad", [MSG_ID_LIMIT, -1])
def test_msg_id_outside_64_bits_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        msg_id_to_signed(bad)


@pytest.mark.parametrize("bad", [2**63, -(2**63) - 1])
def test_stored_value_outside_signed_64_bits_is_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="signed 64-bit"):
        msg_id_from_signed(bad)


@pytest.mark.parametrize("bad", [(16, 1, 1, 1, 1, 1, 1), (1, 32, 1, 1, 1, 1, 1), (1, 1, 1, 1, 1, 1 << 22, 1),
                                 (1, 1, 1, 1, 1, 1, 1 << 16), (1, 1, 1, 1, -1, 1, 1)])
def test_msg_id_parts_must_fit(bad: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        pack_msg_id(*bad)


def test_generator_is_unique_beyond_65536_per_second_and_carries_the_node() -> None:
    gen = MsgIdGenerator(gateway=7, clock=lambda: 1_700_000_000.0)
    ids = [gen() for _ in range(70_000)]
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert {unpack_msg_id(i).gateway for i in ids} == {7}
    first = gen.reserve(3)
    assert gen() == first + 3


def test_timestamp_from_local_time() -> None:
    t = time.struct_time((2025, 1, 2, 15, 4, 5, 0, 0, -1))
    assert timestamp_from_struct(t) == 102150405
    assert timestamp_text(102150405) == "0102150405"
    with pytest.raises(ValueError):
        timestamp_text(1231235960)


def test_sp_id_is_nul_padded_to_six_bytes() -> None:
    assert authenticator_source("9001", "x", 1) != authenticator_source("900100", "x", 1)


def test_smpp_time() -> None:
    cst = timezone(timedelta(hours=8))
    assert smpp_time(datetime(2015, 11, 5, 13, 15, 55, 100000, tzinfo=cst)) == "151105131555132+"
    assert smpp_time(datetime(2015, 11, 5, 13, 15, 55, tzinfo=timezone(timedelta(hours=-5)))).endswith("020-")
    assert smpp_time(None) == ""
    assert len(smpp_time(datetime(2015, 11, 5, 13, 15, 55))) == 16  # naive: local time


def test_backoff_grows_caps_and_jitters() -> None:
    b = Backoff(base=0.5, factor=2, cap=4, jitter=0.1)
    assert [b.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert b.delay(1, rand=0.0) == pytest.approx(0.9) and b.delay(1, rand=0.999) == pytest.approx(1.1, abs=1e-3)
    assert b.delay(10_000) == 4.0
    with pytest.raises(ValueError):
        b.delay(-1)


def test_token_bucket() -> None:
    bucket = TokenBucket(rate=10, burst=2, now=0)
    assert bucket.take(0) == 0 and bucket.take(0) == 0
    assert bucket.take(0) == pytest.approx(0.1)
    assert bucket.take(0.1) == 0
    assert bucket.take(0.1, cost=5) > 0  # a group send waits for a full bucket ...
    assert bucket.take(0.3, cost=5) == 0  # ... then goes, and the bucket owes tokens
    assert bucket.take(0.3) > 0
    with pytest.raises(ValueError):
        TokenBucket(0)
