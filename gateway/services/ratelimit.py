"""Daily counters for the intake limits (per client, per mobile), kept in the cache.

With Redis (production) a whole batch is counted by one Lua script: one round trip and one command to encode
instead of two per number. INCRBY is atomic across web processes, so the limits hold however many processes
take requests. All keys of a call go to one Redis; a Redis Cluster would need hash tags. Without Redis the
local-memory cache counts per process (development only).
"""

import hashlib
from collections.abc import Mapping

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import NoScriptError

TTL_SECONDS = 2 * 24 * 3600  # a day key outlives its day; Redis drops it afterwards
_ADD_ALL = """
local values = {}
local ttl = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do
  values[i] = redis.call('INCRBY', key, ARGV[i])
  redis.call('EXPIRE', key, ttl)
end
return values
"""
_ADD_ALL_SHA = hashlib.sha1(_ADD_ALL.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1


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
        names = list(deltas)
        argv = [len(names), *(backend.make_key(k) for k in names), *deltas.values(), TTL_SECONDS]
        try:
            results = client.evalsha(_ADD_ALL_SHA, *argv)
        except NoScriptError:
            results = client.eval(_ADD_ALL, *argv)
        return {k: int(v) for k, v in zip(names, results, strict=True)}
    values = {}
    for k, delta in deltas.items():
        backend.add(k, 0, timeout=TTL_SECONDS)
        values[k] = backend.incr(k, delta)
    return values
