"""Pure rules of running the system: which backups to keep."""

from collections.abc import Iterable
from datetime import datetime, timedelta


def backups_to_prune(taken: Iterable[datetime], *, now: datetime, keep_days: int) -> list[datetime]:
    """The backups to delete: keep every backup of the last `keep_days` days, and the last backup of every month
    for good (the runbook keeps month-ends for the contract's life and the two years of confidentiality after
    it, 7.2; they are removed by hand after that). `taken` are local (Asia/Shanghai) times."""
    taken = sorted(taken)
    last_of_month = {}
    for when in taken:
        last_of_month[(when.year, when.month)] = when  # sorted: the last one wins
    month_ends = set(last_of_month.values())
    cutoff = now - timedelta(days=keep_days)
    return [when for when in taken if when < cutoff and when not in month_ends]
