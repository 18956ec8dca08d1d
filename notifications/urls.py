# API and page routes of the notifications app (included from contorl/urls.py).
from django.urls import include, path

from . import views

app_name = "notifications"
urlpatterns = [
    path("api/", include("notifications.api_urls")),
    path("notifications/", views.notification_list, name="list"),
    path("notifications/read-all/", views.notification_read_all, name="read-all"),
    path("notifications/preferences/", views.notification_preferences, name="preferences"),
    path("notifications/<int:pk>/open/", views.notification_open, name="open"),
]
