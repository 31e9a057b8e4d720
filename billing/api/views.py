from django.http import Http404, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.serializers import (
    BillingUploadOutputSerializer,
    CarrierBillOutputSerializer,
    StatementOutputSerializer,
)
from billing.documents import statement_xlsx
from billing.models import BillingUpload
from billing.selectors import carrier_bills_for_user, statements_for_user, uploads_for_user
from billing.services.statements import statement_pdf_for_download
from billing.services.uploads import billing_file_accept, billing_upload_status, check_request_size
from contracts.selectors import contract_list_for_user


def _period(value: str) -> tuple[int, int]:
    try:
        year, month = (int(p) for p in value.split("-"))
    except ValueError:
        raise Http404 from None
    if not 1 <= month <= 12 or len(value) != 7:
        raise Http404
    return year, month


def _statement_for(request, contract_number: str, period: str):
    year, month = _period(period)
    statement = (
        statements_for_user(user=request.user)
        .select_related("contract__purchaser", "contract__supplier", "approved_by")
        .filter(contract__number=contract_number, year=year, month=month, kind="monthly")
        .first()
    )
    if statement is None:
        raise Http404
    return statement


class StatementDetailApi(APIView):
    """The month's statement. Police, finance and auditors see all; carrier staff only their own contracts."""

    @extend_schema(responses=StatementOutputSerializer)
    def get(self, request, contract_number: str, period: str):
        return Response(StatementOutputSerializer(_statement_for(request, contract_number, period)).data)


class StatementPdfApi(APIView):
    """The settlement sheet. Issued: the very file stored at issue (its SHA-256 in `X-Content-SHA256` and the
    ETag, the same as on the statement); draft or approved: rendered from the current figures."""

    document_view = True  # a browser following the link gets a styled page for an error (api_exceptions)

    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request, contract_number: str, period: str):
        statement = _statement_for(request, contract_number, period)
        pdf, sha256 = statement_pdf_for_download(statement)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{statement.number}.pdf"'
        response["X-Content-SHA256"] = sha256
        if statement.pdf_sha256:
            response["ETag"] = f'"{sha256}"'
        return response


class StatementXlsxApi(APIView):
    document_view = True  # a browser following the link gets a styled page for an error (api_exceptions)

    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes})
    def get(self, request, contract_number: str, period: str):
        statement = _statement_for(request, contract_number, period)
        response = HttpResponse(
            statement_xlsx(statement), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="{statement.number}.xlsx"'
        return response


class CarrierBillUploadApi(APIView):
    """Upload the carrier's monthly bill (multipart). A file up to BILLING_UPLOAD_INLINE_MAX_BYTES is read at
    once: 201 with the bill and its reconciliation, or 400 `bad_file` with row-numbered errors (nothing is
    saved then). A larger one is queued: 202 with the upload's state and the URL to follow it. Refused at
    once: 413 `file_too_large`, 400 `xlsx_refused` (an XLSX beyond the inflation limits)."""

    parser_classes = [MultiPartParser, FormParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            check_request_size(request.META.get("CONTENT_LENGTH"))

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        period = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM")
        contract = serializers.CharField(help_text="contract number")

    @extend_schema(
        request=InputSerializer, responses={201: CarrierBillOutputSerializer, 202: BillingUploadOutputSerializer}
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not request.user.has_perm("billing.add_carrierbill"):
            raise PermissionDenied("只有乙方人员或有权限的人员可以上传账单。")
        contract = contract_list_for_user(user=request.user).filter(number=data.validated_data["contract"]).first()
        if contract is None:
            raise Http404
        upload = data.validated_data["file"]
        year, month = (int(p) for p in data.validated_data["period"].split("-"))
        result = billing_file_accept(
            kind=BillingUpload.Kind.CARRIER_BILL,
            contract=contract,
            period=(year, month),
            uploaded_by=request.user,
            file=upload,
            filename=upload.name,
        )
        if isinstance(result, BillingUpload):
            return Response(_upload_answer(result), status=status.HTTP_202_ACCEPTED)
        return Response(CarrierBillOutputSerializer(result).data, status=status.HTTP_201_CREATED)


def _upload_answer(upload) -> dict:
    return {**billing_upload_status(upload), "url": reverse("billing-upload-detail", args=[upload.pk])}


class BillingUploadDetailApi(APIView):
    """A queued bill file: state (queued, running, done, failed), rows read so far, and when finished the bill
    or the row-numbered errors. Visible to whoever may see the contract's bills."""

    @extend_schema(responses=BillingUploadOutputSerializer)
    def get(self, request, upload_id: int):
        upload = uploads_for_user(user=request.user).filter(pk=upload_id).first()
        if upload is None:
            raise Http404
        return Response(_upload_answer(upload))


class CarrierBillDetailApi(APIView):
    @extend_schema(responses=CarrierBillOutputSerializer)
    def get(self, request, bill_id: int):
        bill = carrier_bills_for_user(user=request.user).filter(pk=bill_id).first()
        if bill is None:
            raise Http404
        return Response(CarrierBillOutputSerializer(bill).data)
