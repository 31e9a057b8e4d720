"""A token bucket for messages per second; pure (the caller passes the time)."""

from __future__ import annotations

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` stored. Starts full."""

    __slots__ = ("rate", "burst", "_tokens", "_stamp")

    def __init__(self, rate: float, burst: float | None = None, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, rate / 10 if burst is None else burst)
        self._tokens = self.burst
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def take(self, now: float, cost: float = 1.0) -> float:
        """Take ``cost`` tokens if available and return 0.0; otherwise take nothing and return the seconds
        until they will be. A cost above ``burst`` is allowed once the bucket is full (it goes negative)."""
        self._refill(now)
        needed = min(cost, self.burst)
        if self._tokens >= needed - 1e-9:  # float dust must not cause a 1e-17 s wait
            self._tokens -= cost
            return 0.0
        return (needed - self._tokens) / self.rate
