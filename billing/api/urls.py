from django.urls import path

import sms_contract.converters  # noqa: F401 - registers <id:…>
from billing.api.views import (
    BillingUploadDetailApi,
    CarrierBillDetailApi,
    CarrierBillUploadApi,
    StatementDetailApi,
    StatementPdfApi,
    StatementXlsxApi,
)

urlpatterns = [
    path("carrier-bills/", CarrierBillUploadApi.as_view(), name="carrier-bill-upload"),
    path("carrier-bills/<id:bill_id>/", CarrierBillDetailApi.as_view(), name="carrier-bill-detail"),
    path("billing-uploads/<id:upload_id>/", BillingUploadDetailApi.as_view(), name="billing-upload-detail"),
    path("statements/<str:contract_number>/<str:period>/", StatementDetailApi.as_view(), name="statement-detail"),
    path("statements/<str:contract_number>/<str:period>/pdf/", StatementPdfApi.as_view(), name="statement-pdf"),
    path("statements/<str:contract_number>/<str:period>/xlsx/", StatementXlsxApi.as_view(), name="statement-xlsx"),
]
