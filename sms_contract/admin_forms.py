"""Admin forms whose writes go through a service: the service's own check runs in `clean()`, so a refused
write comes back as form errors on the page (not a 500), and `save_model` then calls the service to write."""

from typing import Any

from django import forms

from sms_contract.exceptions import ApplicationError


def add_application_error(form: forms.BaseForm, exc: ApplicationError) -> None:
    """Put a service's refusal on the form: per field where the service named one the form has, else on top."""
    errors = exc.extra.get("errors")
    if not isinstance(errors, dict) or not errors:
        form.add_error(None, exc.detail)
        return
    for field, messages in errors.items():
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(field if field in form.fields else None, str(message))


class ServiceModelForm(forms.ModelForm):
    """A model form that asks the service whether the write would be accepted (`service_check`)."""

    def service_check(self, data: dict[str, Any]) -> None:  # pragma: no cover - every subclass names its check
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                self.service_check(data)
            except ApplicationError as exc:
                add_application_error(self, exc)
        return data
