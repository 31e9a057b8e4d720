"""The one back-off of the gateway: exponential, capped, jittered. Pure: no I/O, no clock, no Django.

Used by a protocol session for its reconnects and flow-control pauses, by the sender for a node's first
login, and by the node health policy for the hold of a node that misbehaves. Callers pass the random number
(in [0, 1)) so tests are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECONNECT_BACKOFF", "Backoff"]

_MAX_EXPONENT = 64  # beyond this the cap has long been reached; keeps huge attempt counts from overflowing


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds to wait: ``base * factor**attempt``, capped at ``cap``, spread by +/- ``jitter`` (a fraction)."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: float = 0.5) -> float:
        """Seconds to wait before try number ``attempt`` (0 = the first retry). ``rand`` in [0, 1)."""
        if attempt < 0:
            raise ValueError("attempt must be >= 0")
        raw = min(self.cap, self.base * self.factor ** min(attempt, _MAX_EXPONENT))
        return max(0.0, raw * (1.0 + self.jitter * (2.0 * rand - 1.0)))


# Reconnecting to a carrier node: 0.5 s doubling, capped at 5 s, +/-50 %. A node that comes back is used within
# seconds, and several senders do not knock in step; a refused login (wrong password) keeps backing off.
RECONNECT_BACKOFF = Backoff(base=0.5, factor=2.0, cap=5.0, jitter=0.5)
