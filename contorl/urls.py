from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from . import health, metrics, views
from .accounts import api as accounts_api
from .accounts import sessions_views, signin
from .accounts.signin import LoginView

router = DefaultRouter()
router.register("users", accounts_api.UserViewSet, basename="user")
router.register("departments", accounts_api.DepartmentViewSet, basename="department")

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/sessions/", sessions_views.session_list_page, name="sessions"),
    path("accounts/sessions/<int:pk>/sign-out/", sessions_views.session_sign_out_page, name="session-sign-out"),
    path(
        "accounts/sessions/sign-out-others/",
        sessions_views.session_sign_out_others_page,
        name="session-sign-out-others",
    ),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/login/", signin.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/auth/token/", accounts_api.TokenView.as_view(), name="token"),
    path("api/auth/token/refresh/", accounts_api.TokenRefresh.as_view(), name="token-refresh"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/sessions/", sessions_views.SessionListApi.as_view(), name="session-list"),
    path("api/sessions/<int:pk>/", sessions_views.SessionDetailApi.as_view(), name="session-detail"),
    path(
        "api/users/<int:pk>/sign-out-everywhere/",
        sessions_views.SignOutEverywhereApi.as_view(),
        name="user-sign-out-everywhere",
    ),
    path("api/planning/", include("planning.urls")),
    path("api/", include(router.urls)),
    path("", include("tasks.urls")),
    path("", include("rooms.urls")),
    path("", include("notifications.urls")),
    path("", include("audit.urls")),
    path("", include("automation.urls")),
    path("", include("planning.pages")),
    path("", views.dashboard, name="dashboard"),
]

handler400 = "contorl.views.handler400"
handler403 = "contorl.views.handler403"
handler404 = "contorl.views.handler404"
handler500 = "contorl.views.handler500"
