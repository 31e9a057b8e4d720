from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: `manage.py seed_demo` (users per role, the seed contract, a recent stretch of the contract).
    It sits above every app (docs/architecture.md) and writes only through their services."""

    name = "demo"
    verbose_name = "演示数据"
