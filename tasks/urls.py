# Routes of the tasks app: the REST API (api_urls) and the web pages (web_urls).
from django.urls import include, path

app_name = "tasks"
urlpatterns = [
    path("api/", include("tasks.api_urls")),
    path("", include("tasks.web_urls")),
]
