"""A node's rate limit is shared by every sender process through Redis (db 14 in the tests)."""

import asyncio

import pytest

from gateway.sender.ratelimit import SharedRate, chunk_for

REDIS = "redis://127.0.0.1:6379/14"


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


def test_two_senders_never_get_more_than_the_rate_in_one_second(redis_available):
    node_id = 987_654

    async def run():
        redis_client = _redis()
        a, b = SharedRate(redis_client), SharedRate(redis_client)
        now = 1_900_000_000.25  # a fixed second, away from any real one
        await redis_client.delete(f"gateway:rate:{node_id}:{int(now)}")
        granted = 0
        waits = []
        for limiter in (a, b) * 20:
            got, wait = await limiter.take(node_id, 500, 25, now=now)
            granted += got
            waits.append(wait)
        await redis_client.aclose()
        return granted, waits

    granted, waits = asyncio.run(run())
    assert granted == 500
    assert waits[0] == 0 and waits[-1] == pytest.approx(0.75)


def test_chunk_is_a_twentieth_of_the_rate():
    assert (chunk_for(500), chunk_for(7), chunk_for(1)) == (25, 1, 1)
