from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView


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
    from portal.views.dashboard import home as dashboard_home

    return dashboard_home(request)


@never_cache
def healthz(request):
    """Liveness and readiness of the web app: the database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok", "database": "ok"})
    except Exception as exc:  # noqa: BLE001 - report any database failure as unhealthy
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
