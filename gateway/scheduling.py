"""When a notice may go and in which order: priorities, the weighted share of a claim, sending windows
(quiet hours, Asia/Shanghai) and `send_at`. Pure functions: no ORM, no settings, no clock (the caller passes
`now`, the weights and the window).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRIORITIES = ("urgent", "normal", "bulk")  # rank 0, 1, 2 (Message.priority)
RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
# Stat of a message that expired because its window (or send_at) did not come within its validity.
NO_WINDOW_STAT = "NO_WINDOW"


def priority_rank(requested: str | None, notice_default: str | None) -> int:
    """The rank of a message: the request's `priority`, else its notice type's default, else normal.
    Raises ValueError for a name that is not urgent, normal or bulk."""
    name = requested or notice_default or "normal"
    if name not in RANK:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, not {name!r}")
    return RANK[name]


def parse_weights(text: str) -> dict[int, int]:
    """`"urgent=16,normal=4,bulk=1"` → {0: 16, 1: 4, 2: 1}. Every priority needs a weight of at least 1, so
    none can be starved."""
    weights: dict[int, int] = {}
    for part in text.split(","):
        name, _, value = part.strip().partition("=")
        if name not in RANK or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"bad priority weight {part.strip()!r}: use urgent=N,normal=N,bulk=N with N ≥ 1")
        weights[RANK[name]] = int(value)
    missing = [PRIORITIES[r] for r in range(len(PRIORITIES)) if r not in weights]
    if missing:
        raise ValueError("no weight for " + ", ".join(missing))
    return weights


def claim_quotas(limit: int, weights: Mapping[int, int]) -> list[tuple[int, int]]:
    """The first pass of a claim of `limit` messages: (rank, how many) by weight, each rank at least one, most
    urgent first. What a rank leaves unused goes, in a second pass, to the ranks in order (`claim_plan`)."""
    ranks = sorted(weights)
    if limit < len(ranks):  # too small to share: the most urgent ranks, one each
        return [(rank, 1) for rank in ranks[:limit]]
    total = sum(weights.values())
    quotas = {rank: max(1, limit * weights[rank] // total) for rank in ranks}
    while sum(quotas.values()) > limit:  # the floor of one each overshot: trim the largest share
        largest = max(quotas, key=lambda r: quotas[r])
        quotas[largest] -= 1
    quotas[ranks[0]] += limit - sum(quotas.values())  # rounding left-overs go to the most urgent rank
    return list(quotas.items())


def window_open(local: time, start: time | None, end: time | None) -> bool:
    """Whether wall-clock time `local` is inside [start, end); start after end wraps past midnight; no window
    (either bound missing) is always open."""
    if start is None or end is None or start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


def window_next_open(moment: datetime, start: time | None, end: time | None) -> datetime:
    """The first moment at or after `moment` inside the window (Asia/Shanghai wall-clock), as an aware
    datetime; `moment` itself when the window is open then."""
    local = moment.astimezone(SHANGHAI)
    if start is None or window_open(local.timetz().replace(tzinfo=None), start, end):
        return moment
    opening = local.replace(hour=start.hour, minute=start.minute, second=start.second, microsecond=0)
    if opening <= local:
        opening = (local + timedelta(days=1)).replace(
            hour=start.hour, minute=start.minute, second=start.second, microsecond=0
        )
    # Rebuilt from the wall-clock fields so a DST-free zone stays exact (Asia/Shanghai has none since 1991).
    return opening.replace(tzinfo=SHANGHAI)


def earliest_send(*, now: datetime, send_at: datetime | None, start: time | None, end: time | None) -> datetime | None:
    """When a message may first go: not before `send_at` (if later than now), then inside the window. None
    means now (the message goes straight into the queue)."""
    base = send_at if send_at is not None and send_at > now else now
    first = window_next_open(base, start, end)
    return None if first <= now else first


def parse_send_at(raw: object, *, now: datetime, valid_until: datetime) -> datetime | None:
    """`send_at` from a request: an ISO 8601 string with an offset (or Z), not after the message's validity.
    A moment already past means now (None). Raises ValueError with the reason."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise ValueError("send_at must be an ISO 8601 string, e.g. 2026-12-01T08:30:00+08:00")
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("send_at must be an ISO 8601 string, e.g. 2026-12-01T08:30:00+08:00") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("send_at needs a UTC offset, e.g. +08:00")
    if moment >= valid_until:
        raise ValueError(
            f"send_at is after the message's validity (until {valid_until.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S%z})"
        )
    return moment if moment > now else None
