import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.defaults import server_error as html_server_error
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from portal.views.dashboard import home as dashboard_home
from sms_contract.api_exceptions import error_response


class ApiRootView(APIView):
    """Entry point of the REST API, version 1."""

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            {"contracts": serializers.URLField(), "schema": serializers.URLField(), "docs": serializers.URLField()},
        )
    )
    def get(self, request, format=None):
        return Response(
            {
                "contracts": reverse("contract-list", request=request, format=format),
                "schema": reverse("schema", request=request, format=format),
                "docs": reverse("api-docs", request=request, format=format),
            }
        )


@login_required
def home(request):
    """After login: the dashboard (portal app) for every role."""

    return dashboard_home(request)


def server_error(request, *args, **kwargs):
    """handler500: JSON ({"code", "detail"}) under /api/ (503 when the database or Redis is away), the HTML
    page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(sys.exc_info()[1])

    return html_server_error(request, *args, **kwargs)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - report any database failure as unhealthy
        return type(exc).__name__
    return "ok"


def _check_redis() -> str | None:
    """None without Redis (development); "ok" or the error's name."""
    if not settings.REDIS_URL:
        return None

    try:
        cache._cache.get_client(write=True).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means degraded
        return type(exc).__name__
    return "ok"


@never_cache
def healthz(request):
    """Readiness of the web app, per dependency: 200 "ok"; 200 "degraded" while Redis is away (intake keeps
    accepting, PostgreSQL is the source of truth); 503 "error" while the database is away."""
    checks = {"database": _check_database()}
    redis = _check_redis()
    if redis is not None:
        checks["redis"] = redis
    if checks["database"] != "ok":
        return JsonResponse({"status": "error", **checks}, status=503)
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    return JsonResponse({"status": status, **checks})
