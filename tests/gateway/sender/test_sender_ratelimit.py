"""A node's rate limit is shared by every sender process through Redis (db 14 in the tests)."""

import asyncio
import os

import pytest

from gateway.sender.ratelimit import SharedRate, chunk_for

REDIS = os.environ.get("GATEWAY_TEST_RATE_REDIS", "redis://127.0.0.1:6379/14")


def _redis():
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(REDIS)


@pytest.fixture
def redis_available():
    async def ping():
        client = _redis()
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except Exception:
        pytest.skip("no Redis at 127.0.0.1:6379")


def test_two_senders_together_stay_at_the_rate_over_any_window(redis_available):
    """Two senders ask for chunks as fast as they can for 10 simulated seconds, at odd moments: whatever
    10 s window is looked at, the grants stay within the rate + 1 %."""
    node_id = 987_654
    rate = 500
    chunk = chunk_for(rate)

    async def run():
        redis_client = _redis()
        a, b = SharedRate(redis_client), SharedRate(redis_client)
        await redis_client.delete(f"gateway:rate:{node_id}")
        start = 1_900_000_000.37  # away from any real moment
        grants = []
        next_try = {id(a): start, id(b): start}
        now = start
        while now < start + 12:
            for limiter in (a, b):
                if now >= next_try[id(limiter)]:
                    got, wait = await limiter.take(node_id, rate, chunk, now=now)
                    if got:
                        grants.append((now, got))
                    next_try[id(limiter)] = now + (wait or 0.0005)
            now += 0.0005
        await redis_client.aclose()
        return start, grants

    start, grants = asyncio.run(run())
    for offset in (0.0, 0.25, 0.5, 0.999, 1.7):
        begin = start + offset
        total = sum(n for t, n in grants if begin <= t < begin + 10)
        assert total <= rate * 10 * 1.01, (offset, total)
        assert total >= rate * 10 * 0.98, (offset, total)  # and the rate is really used


def test_chunk_is_a_hundredth_of_the_rate():
    assert (chunk_for(500), chunk_for(7), chunk_for(1)) == (5, 1, 1)
