from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "合同"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from contracts.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="contracts.sync_roles")
