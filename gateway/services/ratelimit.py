"""Daily counters for the intake limits (per client, per mobile), kept in the cache.

With Redis (production) a whole batch is counted in one pipelined round trip and INCRBY is atomic across web
processes, so the limits hold however many processes take requests. Without Redis the local-memory cache
counts per process (development only).
"""

from collections.abc import Mapping

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

TTL_SECONDS = 2 * 24 * 3600  # a day key outlives its day; Redis drops it afterwards


def _redis(backend):
    if isinstance(backend, RedisCache):
        return backend._cache.get_client(write=True)
    return None


def counters_add(deltas: Mapping[str, int]) -> dict[str, int]:
    """Add each delta to its counter; returns the counters' new values. Keys are created with a TTL."""
    deltas = {k: v for k, v in deltas.items() if v}
    if not deltas:
        return {}
    backend = caches["default"]
    client = _redis(backend)
    if client is not None:
        keys = {k: backend.make_and_validate_key(k) for k in deltas}
        pipe = client.pipeline(transaction=False)
        for k, delta in deltas.items():
            pipe.incrby(keys[k], delta)
            pipe.expire(keys[k], TTL_SECONDS)
        results = pipe.execute()
        return {k: int(results[2 * i]) for i, k in enumerate(deltas)}
    values = {}
    for k, delta in deltas.items():
        backend.add(k, 0, timeout=TTL_SECONDS)
        values[k] = backend.incr(k, delta)
    return values
