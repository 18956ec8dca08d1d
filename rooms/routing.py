# WebSocket routes of the rooms app (included from contorl/asgi.py).
from django.urls import path

from .consumers import RoomConsumer

websocket_urlpatterns: list = [path("ws/rooms/<int:room_id>/", RoomConsumer.as_asgi())]
