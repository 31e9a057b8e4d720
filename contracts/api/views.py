from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView, RetrieveAPIView

from contracts.api.serializers import ContractOutputSerializer
from contracts.selectors import contract_list_for_user


class ContractListApi(ListAPIView):
    """Contracts the caller may see (carrier staff: only their own)."""

    serializer_class = ContractOutputSerializer

    def get_queryset(self):
        return contract_list_for_user(user=self.request.user)


@extend_schema(responses=ContractOutputSerializer)
class ContractDetailApi(RetrieveAPIView):
    serializer_class = ContractOutputSerializer
    lookup_field = "number"
    lookup_url_kwarg = "contract_number"

    def get_queryset(self):
        return contract_list_for_user(user=self.request.user)
