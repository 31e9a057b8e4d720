"""A node's rate limit shared by every sender process, through Redis (when REDIS_URL is set).

Each session also has its own token bucket at the node's rate (smoothing); with several senders that alone
would multiply the limit. So senders take the right to send from a per-node, per-second counter in Redis,
in small chunks (1/20 of the rate), and hand a node work only while they hold some. Without Redis a single
sender is assumed and the session's own bucket is the limit.
"""

from __future__ import annotations

import math
import time

KEY = "gateway:rate:{node}:{second}"


class SharedRate:
    """Grants from fixed one-second windows kept in Redis (INCRBY + EXPIRE)."""

    def __init__(self, redis) -> None:
        self.redis = redis  # a redis.asyncio client

    async def take(self, node_id: int, rate: int, want: int, now: float | None = None) -> tuple[int, float]:
        """(granted, seconds to wait before asking again). Never grants more than `rate` per second in total."""
        now = time.time() if now is None else now
        second = int(now)
        key = KEY.format(node=node_id, second=second)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incrby(key, want)
            pipe.expire(key, 3)
            total, _ = await pipe.execute()
        granted = max(0, min(want, rate - (total - want)))
        wait = 0.0 if granted == want else max(0.001, second + 1 - now)
        return granted, wait


def chunk_for(rate: int) -> int:
    return max(1, math.ceil(rate / 20))
