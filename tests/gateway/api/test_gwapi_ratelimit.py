"""Daily counters in Redis (as in production): one script per batch, atomic, shared by every process."""

import pytest
import redis
from django.core.cache import caches

from gateway.services.ratelimit import counters_add

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_cache(settings):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "test-gwapi",
        }
    }
    caches["default"].delete_many(["gw:rl:a", "gw:rl:b"])
    yield caches["default"]
    caches["default"].delete_many(["gw:rl:a", "gw:rl:b"])


def test_counters_add_up_in_redis_and_expire(redis_cache):
    assert counters_add({"gw:rl:a": 3, "gw:rl:b": 1}) == {"gw:rl:a": 3, "gw:rl:b": 1}
    assert counters_add({"gw:rl:a": 2, "gw:rl:b": -1}) == {"gw:rl:a": 5, "gw:rl:b": 0}
    assert redis_cache.get("gw:rl:a") == 5  # readable through the cache API too
    client = redis.Redis.from_url(REDIS_URL)
    assert 0 < client.ttl(redis_cache.make_key("gw:rl:a")) <= 2 * 24 * 3600


def test_the_script_is_loaded_again_after_a_redis_restart(redis_cache):
    redis.Redis.from_url(REDIS_URL).script_flush()
    assert counters_add({"gw:rl:a": 1}) == {"gw:rl:a": 1}


def test_mobile_limit_with_redis(redis_cache, free_api, settings):
    settings.GATEWAY_MOBILE_DAILY_LIMIT = 1
    redis_cache.clear()
    result = free_api.send_batch(
        [{"mobile": "13912345678", "content": "一"}, {"mobile": "13912345678", "content": "二"}]
    )
    assert [a["index"] for a in result["accepted"]] == [0]
    assert [r["code"] for r in result["rejected"]] == ["rate_limited"]
