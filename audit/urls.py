# API and page routes of the audit app (included from contorl/urls.py).
from django.urls import include, path

from . import views

app_name = "audit"
urlpatterns = [
    path("api/", include("audit.api_urls")),
    path("audit/", views.audit_trail, name="trail"),
]
