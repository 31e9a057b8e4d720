"""Wake the sender when new messages are committed. (Interface; the sender side implements it.)

With REDIS_URL set, `notify_sender` publishes on a Redis channel that every `runsender` subscribes to, so a
new message goes out without waiting for the next poll. Without Redis it does nothing: the sender polls the
queue every GATEWAY_SENDER_POLL_SECONDS anyway.
"""

import logging
from functools import cache

from django.conf import settings

CHANNEL = "gateway:sender:wakeup"
log = logging.getLogger("gateway.sender")


@cache
def _client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def notify_sender() -> None:
    """Called from `transaction.on_commit` after messages are queued. Best effort: the sender also polls."""
    if not settings.REDIS_URL:
        return
    try:
        _client().publish(CHANNEL, b"1")
    except Exception as exc:  # the sender polls anyway; never fail the request for this
        log.debug("sender wake-up not published: %s", exc)


async def listen(wake, stop) -> None:
    """Run in the sender: call `wake()` for every notification until `stop` (an asyncio.Event) is set."""
    if not settings.REDIS_URL:
        return
    import asyncio

    import redis.asyncio as aioredis

    while not stop.is_set():
        try:
            client = aioredis.Redis.from_url(settings.REDIS_URL)
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                while not stop.is_set():
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None:
                        wake()
        except Exception as exc:
            log.warning("sender wake-up channel unavailable (%s); polling only", exc)
            await asyncio.sleep(5)
