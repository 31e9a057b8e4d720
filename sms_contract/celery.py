"""The Celery app. Settings come from Django's settings under the CELERY_ namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sms_contract.settings.base")

app = Celery("sms_contract")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
