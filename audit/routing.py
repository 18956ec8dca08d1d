# WebSocket routes of the audit app (included from contorl/asgi.py).
websocket_urlpatterns: list = []
