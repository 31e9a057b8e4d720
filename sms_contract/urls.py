from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
