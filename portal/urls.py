"""URL patterns of the portal app, mounted by sms_contract/urls.py under /portal/, /finance/, /police/, /audit/."""

from django.urls import path

from portal.views import police

portal_patterns: list = []
finance_patterns: list = []
police_patterns = [
    path("lifecycle/", police.lifecycle, name="lifecycle"),
]
audit_patterns: list = []
