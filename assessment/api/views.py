"""Thin views over the assessment services: GET/PUT the month's sheet, sign it, export it as PDF."""

from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from assessment.api.serializers import AssessmentInputSerializer, AssessmentOutputSerializer
from assessment.documents import assessment_pdf
from assessment.models import Assessment
from assessment.selectors import assessment_get, assessment_suggestions, parse_period
from assessment.services import assessment_record, assessment_sign
from contracts.selectors import contract_list_for_user, contract_terms
from sms_contract.exceptions import ApplicationError


def _contract_and_period(request, contract_number: str, period: str):
    contract = contract_list_for_user(user=request.user).filter(number=contract_number).first()
    if contract is None:
        raise Http404
    try:
        year, month = parse_period(period)
    except ValueError:
        raise Http404 from None
    return contract, year, month


def _require(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied("没有该操作的权限。")


def _output(assessment: Assessment, status: int = 200) -> Response:
    parts = contract_terms(assessment.contract).parts
    return Response(AssessmentOutputSerializer(assessment, parts=parts).data, status=status)


def _assessment_or_404(contract, year: int, month: int) -> Assessment:
    assessment = assessment_get(contract_id=contract.pk, year=year, month=month)
    if assessment is None:
        terms = contract_terms(contract)
        suggestions = assessment_suggestions(
            contract_id=contract.pk,
            year=year,
            month=month,
            now=timezone.now(),
            part_max={p.code: p.max for p in terms.parts},
        )
        raise ApplicationError(
            "assessment_not_found",
            f"{year:04d}-{month:02d} 尚无考核。",
            status_code=404,
            extra={"suggestions": {code: {"score": s.score, "basis": s.basis} for code, s in suggestions.items()}},
        )
    return assessment


class AssessmentDetailApi(APIView):
    """The month's assessment of a contract. Carrier staff may read their own contracts' sheets."""

    @extend_schema(responses=AssessmentOutputSerializer)
    def get(self, request, contract_number: str, period: str):
        _require(request, "assessment.view_assessment")
        contract, year, month = _contract_and_period(request, contract_number, period)
        return _output(_assessment_or_404(contract, year, month))

    @extend_schema(request=AssessmentInputSerializer, responses=AssessmentOutputSerializer)
    def put(self, request, contract_number: str, period: str):
        _require(request, "assessment.change_assessment")
        _require(request, "assessment.add_assessment")
        contract, year, month = _contract_and_period(request, contract_number, period)
        serializer = AssessmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        existed = assessment_get(contract_id=contract.pk, year=year, month=month) is not None
        codes = [p.code for p in contract_terms(contract).parts]
        assessment = assessment_record(
            contract=contract,
            year=year,
            month=month,
            scores={code: request.data.get(code) for code in codes},
            reasons=serializer.validated_data["reasons"],
            remarks=serializer.validated_data["remarks"],
            change_reason=serializer.validated_data["change_reason"],
            by=request.user,
        )
        return _output(assessment, status=200 if existed else 201)


class AssessmentSignApi(APIView):
    """Police staff sign the current version (permission `assessment.sign_assessment`)."""

    @extend_schema(request=None, responses=AssessmentOutputSerializer)
    def post(self, request, contract_number: str, period: str):
        _require(request, "assessment.sign_assessment")
        contract, year, month = _contract_and_period(request, contract_number, period)
        return _output(assessment_sign(assessment=_assessment_or_404(contract, year, month), by=request.user))


class AssessmentPdfApi(APIView):
    """The signed sheet (项目考核表) as PDF, to go with the month's invoice."""

    document_view = True  # a browser following the link gets a styled page for an error (api_exceptions)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request, contract_number: str, period: str):
        _require(request, "assessment.view_assessment")
        contract, year, month = _contract_and_period(request, contract_number, period)
        assessment = _assessment_or_404(contract, year, month)
        if assessment.state == Assessment.State.DRAFT:
            raise ApplicationError("assessment_not_signed", "考核尚未签署，不能导出考核表。", status_code=409)
        response = HttpResponse(assessment_pdf(assessment), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="assessment-{contract.number}-{assessment.period}.pdf"'
        return response
