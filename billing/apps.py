from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "结算"

    def ready(self) -> None:
        # Imported here, once the app registry is ready (selectors import the models).
        from billing.selectors import contract_deadlines
        from contracts.signals import contract_deadlines as deadlines_signal

        # Billing answers the deadline reminders of contracts (bill due, bond refund); contracts imports no billing.
        deadlines_signal.connect(contract_deadlines, dispatch_uid="billing.contract_deadlines")
