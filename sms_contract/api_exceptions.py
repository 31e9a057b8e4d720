"""DRF exception handler: every error answer is JSON with a stable `code` and a human `detail`."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.shortcuts import render
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from sms_contract.exceptions import ApplicationError


def exception_handler(exc, context):
    response = _json_error(exc, context)
    view, request = context.get("view"), context.get("request")
    if response is not None and getattr(view, "document_view", False) and _browser_navigation(request):
        return _document_error_page(request, response)
    return response


def _browser_navigation(request) -> bool:
    """A person following a link (the browser asks for HTML first), not an API client asking for JSON."""
    accept = request.META.get("HTTP_ACCEPT", "") if request is not None else ""
    return accept.split(",")[0].strip().startswith("text/html")


TITLES = {404: "文件不存在", 403: "无权查看此文件", 409: "文件尚未生成"}


def _document_error_page(request, response):
    """Document links (PDF, XLSX) opened in a browser answer a styled page, not raw JSON (same status)."""

    data = response.data if isinstance(response.data, dict) else {}
    context = {
        "title": TITLES.get(response.status_code, "无法提供此文件"),
        "detail": data.get("detail", ""),
        "code": data.get("code", ""),
        "status": response.status_code,
    }
    return render(request, "portal/document_missing.html", context, status=response.status_code)


def _json_error(exc, context):
    if isinstance(exc, ApplicationError):
        return Response({"code": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()  # get_object_or_404 in a view: the same body as every other error
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return error_response(exc)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request has invalid fields.",
            "errors": response.data,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = response.data.get("detail", str(exc)) if isinstance(response.data, dict) else str(exc)
        response.data = {"code": code, "detail": str(detail)}
    return response


log = logging.getLogger("sms_contract.errors")


def _redis_error_types() -> tuple[type[BaseException], ...]:
    return (RedisError,)


def error_response(exc: BaseException | None) -> JsonResponse:
    """The JSON answer for an error nothing else handled: 503 when a dependency is away (the client should
    retry; nothing was stored), 500 otherwise. Never HTML, never a traceback."""
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        log.error("database unavailable: %s", exc)
        response = JsonResponse(
            {"code": "database_unavailable", "detail": "The database is not reachable; nothing was stored. Retry."},
            status=503,
        )
        response["Retry-After"] = "5"
        return response
    if exc is not None and isinstance(exc, _redis_error_types()):
        log.error("redis unavailable: %s", exc)
        response = JsonResponse(
            {"code": "cache_unavailable", "detail": "A dependency (Redis) is not reachable. Retry."}, status=503
        )
        response["Retry-After"] = "5"
        return response
    if exc is not None:
        log.error("unhandled error in an API request", exc_info=exc)
    return JsonResponse({"code": "server_error", "detail": "Internal server error."}, status=500)
