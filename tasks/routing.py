# WebSocket routes of the tasks app (included from contorl/asgi.py).
from django.urls import path

from .consumers import ProjectConsumer

websocket_urlpatterns: list = [path("ws/projects/<int:project_id>/", ProjectConsumer.as_asgi())]
