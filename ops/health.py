"""Health checks that apps above ops contribute to `manage.py health` (ops may not import them).

An app registers a check in its AppConfig.ready(): a function answering the list of problems (empty: healthy).
"""

from collections.abc import Callable

CHECKS: dict[str, Callable[[], list[str]]] = {}


def health_check_register(name: str, check: Callable[[], list[str]]) -> None:
    CHECKS[name] = check
