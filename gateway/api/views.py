"""The intake API (docs/api.md): messages, batches and opt-outs. API clients sign requests (HMAC); staff in the
browser may read messages and opt-outs with their session or token."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway import rules
from gateway.api.serializers import (
    BatchInSerializer,
    BatchOutSerializer,
    ErrorSerializer,
    MessageInSerializer,
    MessageOutSerializer,
    OptOutOutSerializer,
    QueuedSerializer,
    ReportFeedSerializer,
)
from gateway.auth import HmacAuthentication
from gateway.callbacks.feed import feed_read, parse_limit
from gateway.models import ApiClient, Message, OptOut
from gateway.services.intake import messages_submit
from gateway.services.message_reads import client_ref_filter, message_queryset_for
from gateway.services.optouts import optout_get, optout_set
from sms_contract.exceptions import ApplicationError
from sms_contract.masking import display_mobile
from sms_contract.pagination import BoundedLimitOffsetPagination
from sms_contract.tokens import HashedTokenAuthentication

REFUSAL_STATUS = {"rate_limited": 429, "free_content_not_allowed": 403}
ERRORS = {400: ErrorSerializer, 401: ErrorSerializer, 403: ErrorSerializer}


class HmacScheme(OpenApiAuthenticationExtension):
    target_class = "gateway.auth.HmacAuthentication"
    name = "hmacSignature"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Signature",
            "description": "HMAC-SHA256 request signing with X-Api-Key, X-Timestamp, X-Nonce (see docs/api.md).",
        }


def api_client_of(request) -> ApiClient | None:
    return request.auth if isinstance(request.auth, ApiClient) else None


def require_client(request) -> ApiClient:
    client = api_client_of(request)
    if client is None:
        raise ApplicationError("api_client_required", "Only signed API clients may do this.", status_code=403)
    return client


def require_perm(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise ApplicationError("permission_denied", "You do not have permission to do this.", status_code=403)


class GatewayApi(APIView):
    authentication_classes = [HmacAuthentication, SessionAuthentication, HashedTokenAuthentication]
    permission_classes = [IsAuthenticated]


def _messages_list(request) -> list:
    raw = request.data.get("messages") if isinstance(request.data, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ApplicationError("invalid", 'The body must be {"messages": [ ... ]} with 1 to 1,000 messages.')
    return raw


class MessageListCreateApi(GatewayApi):
    # Declared so the schema documents GET as the paginated object it answers ({count, next, previous, results}).
    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(
        request=MessageInSerializer,
        responses={202: QueuedSerializer, 200: QueuedSerializer, 429: ErrorSerializer, **ERRORS},
        summary="Queue one notice",
    )
    def post(self, request):
        client = require_client(request)
        if not isinstance(request.data, dict):
            raise ApplicationError("invalid", "The body must be a JSON object.")
        (outcome,) = messages_submit(client=client, raw_items=[request.data])
        if not outcome.accepted:
            raise ApplicationError(outcome.code, outcome.detail, status_code=REFUSAL_STATUS.get(outcome.code, 400))
        state = Message.objects.values_list("status", flat=True).get(pk=outcome.message_id)
        body = {"id": outcome.message_id, "status": state, "units": outcome.units, "client_ref": outcome.client_ref}
        return Response(body, status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[OpenApiParameter("client_ref", str, description="Your reference (exact match).")],
        responses={200: MessageOutSerializer(many=True), **ERRORS},
        summary="Messages, newest first, optionally by client_ref",
    )
    def get(self, request):
        client = api_client_of(request)
        if client is None:
            require_perm(request, "gateway.view_message")
        qs = message_queryset_for(client=client)
        ref = request.query_params.get("client_ref")
        if ref is not None:
            if rules.CONTROL_CHARS.search(ref):
                raise ApplicationError("invalid", "client_ref cannot contain control characters.")
            qs = qs.filter(client_ref=ref) if client is not None else qs.filter(client_ref_filter(ref))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = MessageOutSerializer(page, many=True, context={"request": request, "api_client": client}).data
        return paginator.get_paginated_response(data)


class MessageBatchApi(GatewayApi):
    @extend_schema(request=BatchInSerializer, responses={202: BatchOutSerializer, **ERRORS}, summary="Queue a batch")
    def post(self, request):
        client = require_client(request)
        outcomes = messages_submit(client=client, raw_items=_messages_list(request))
        accepted, rejected = [], []
        for o in outcomes:
            if o.accepted:
                row = {"index": o.index, "id": o.message_id, "units": o.units}
                if o.duplicate:
                    row["duplicate"] = True
                accepted.append(row)
            else:
                rejected.append({"index": o.index, "code": o.code, "detail": o.detail})
        return Response({"accepted": accepted, "rejected": rejected}, status=status.HTTP_202_ACCEPTED)


class MessageDetailApi(GatewayApi):
    @extend_schema(responses={200: MessageOutSerializer, 404: ErrorSerializer, **ERRORS}, summary="One message")
    def get(self, request, pk: int):
        client = api_client_of(request)
        if client is None:
            require_perm(request, "gateway.view_message")
        message = message_queryset_for(client=client).filter(pk=pk).first()
        if message is None:
            raise ApplicationError("not_found", "No such message.", status_code=404)
        return Response(MessageOutSerializer(message, context={"request": request, "api_client": client}).data)


def _client_source(client: ApiClient) -> str:
    # A client that may not send is the carrier's customer service; a sending client is the 12123 platform.
    return OptOut.Source.PLATFORM if client.may_send else OptOut.Source.CARRIER_CS


class OptOutApi(GatewayApi):
    def _mobile(self, raw: str) -> str:
        try:
            return rules.normalize_mobile(raw)
        except rules.Refusal as refusal:
            raise ApplicationError(refusal.code, refusal.detail) from None

    def _check(self, request, perm: str) -> ApiClient | None:
        client = api_client_of(request)
        if client is None:
            require_perm(request, perm)
        elif not client.may_manage_optouts:
            raise ApplicationError("optouts_not_allowed", "This API client may not manage opt-outs.", status_code=403)
        return client

    def _answer(self, request, client, mobile: str, row: OptOut | None) -> Response:
        shown = mobile if client is not None else display_mobile(mobile, request.user)
        if row is None:
            return Response({"mobile": shown, "opted_out": False, "since": None, "source": None})
        data = OptOutOutSerializer(
            {"mobile": shown, "opted_out": row.opted_out, "since": row.since, "source": row.source}
        ).data
        return Response(data)

    @extend_schema(responses={200: OptOutOutSerializer, **ERRORS}, summary="A number's subscription")
    def get(self, request, mobile: str):
        client = self._check(request, "gateway.view_optout")
        number = self._mobile(mobile)
        return self._answer(request, client, number, optout_get(mobile=number))

    @extend_schema(request=None, responses={200: OptOutOutSerializer, **ERRORS}, summary="Opt a number out")
    def put(self, request, mobile: str):
        return self._change(request, mobile, opted_out=True)

    @extend_schema(request=None, responses={200: OptOutOutSerializer, **ERRORS}, summary="Opt a number back in")
    def delete(self, request, mobile: str):
        return self._change(request, mobile, opted_out=False)

    def _change(self, request, mobile: str, *, opted_out: bool) -> Response:
        client = self._check(request, "gateway.change_optout")
        number = self._mobile(mobile)
        if client is not None:
            row = optout_set(mobile=number, opted_out=opted_out, source=_client_source(client), actor=f"api:{client}")
        else:
            row = optout_set(mobile=number, opted_out=opted_out, source=OptOut.Source.ADMIN)
        return self._answer(request, client, number, row)


class ReportFeedApi(GatewayApi):
    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="The `next` of the previous answer (absent: from the start)."),
            OpenApiParameter("limit", int, description="1 to 500 events (default 100)."),
        ],
        responses={200: ReportFeedSerializer, **ERRORS},
        summary="Status events of this client's messages, oldest first (the pull feed)",
    )
    def get(self, request):
        client = require_client(request)
        limit = parse_limit(request.query_params.get("limit"))
        return Response(feed_read(client_id=client.pk, after=request.query_params.get("after"), limit=limit))
