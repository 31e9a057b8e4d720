"""URL patterns of the portal app, mounted by sms_contract/urls.py under /portal/, /finance/, /police/, /audit/."""

from django.urls import path

import sms_contract.converters  # noqa: F401 - registers <id:…>
from portal.views import audit, carrier, finance, police

portal_patterns = [
    path("", carrier.index, name="index"),
    path("bills/upload/", carrier.bill_upload, name="bill-upload"),
    path("bills/<id:pk>/", carrier.bill_detail, name="bill"),
    path("uploads/<id:pk>/", carrier.upload_status, name="upload-status"),
    path("tickets/<id:pk>/<str:step>/", carrier.ticket_step, name="ticket-step"),
    path("complaints/<id:pk>/<str:step>/", carrier.complaint_step, name="complaint-step"),
]
finance_patterns = [
    path("", finance.index, name="index"),
    path("payments/<id:contract_id>/", finance.payment, name="payment"),
]
police_patterns = [
    path("lifecycle/", police.lifecycle, name="lifecycle"),
]
audit_patterns = [
    path("", audit.log, name="log"),
    path("audit-log.csv", audit.log_csv, name="csv"),
]
