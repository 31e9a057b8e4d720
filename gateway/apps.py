from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "短信网关"

    def ready(self) -> None:
        from django.utils import timezone

        from gateway.partitions import partitions_problems
        from ops.health import health_check_register

        # `manage.py health partitions`: next month's partition of every message table exists, none parked.
        health_check_register("partitions", lambda: partitions_problems(now=timezone.now()))
