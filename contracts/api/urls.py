from django.urls import path

from contracts.api.views import ContractDetailApi, ContractListApi

urlpatterns = [
    path("contracts/", ContractListApi.as_view(), name="contract-list"),
    path("contracts/<str:contract_number>/", ContractDetailApi.as_view(), name="contract-detail"),
]
