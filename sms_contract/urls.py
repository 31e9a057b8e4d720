from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from gateway import metrics as gateway_metrics
from portal.urls import audit_patterns, finance_patterns, police_patterns, portal_patterns
from sms_contract import views

api_v1 = [
    path("", views.ApiRootView.as_view(), name="api-root"),
    path("", include("contracts.api.urls")),
    path("", include("gateway.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("assessment.api.urls")),
]

admin.site.site_header = "12123 平台短信合同管理"
admin.site.site_title = "12123 短信合同"
admin.site.index_title = "管理"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("metrics", gateway_metrics.metrics_view, name="metrics"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline <script> for the CSP to allow.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # The web pages of the portal app: carrier portal, finance, police pages, audit log.
    path("portal/", include((portal_patterns, "portal"))),
    path("finance/", include((finance_patterns, "finance"))),
    path("police/", include((police_patterns, "police"))),
    path("audit/", include((audit_patterns, "audit"))),
]

handler403 = "portal.views.errors.forbidden"
handler500 = "sms_contract.views.server_error"
