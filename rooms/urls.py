# Routes of the rooms app: the REST API (api_urls) and the web pages (web_urls).
from django.urls import include, path

app_name = "rooms"
urlpatterns = [
    path("api/", include("rooms.api_urls")),
    path("", include("rooms.web_urls")),
]
