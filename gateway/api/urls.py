from django.urls import path

import sms_contract.converters  # noqa: F401 - registers <id:…>
from gateway.api import views

urlpatterns = [
    path("messages/", views.MessageListCreateApi.as_view(), name="gateway-messages"),
    path("messages/batch/", views.MessageBatchApi.as_view(), name="gateway-messages-batch"),
    path("messages/<id:pk>/", views.MessageDetailApi.as_view(), name="gateway-message-detail"),
    path("reports/", views.ReportFeedApi.as_view(), name="gateway-reports"),
    path("optouts/<str:mobile>/", views.OptOutApi.as_view(), name="gateway-optout"),
]
