"""WebsocketCommunicator helpers for /ws/notifications/."""

import time

from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from notifications.routing import websocket_urlpatterns

APP = URLRouter(websocket_urlpatterns)


async def connect(user):
    comm = WebsocketCommunicator(APP, "/ws/notifications/")
    comm.scope["user"] = user
    connected, _ = await comm.connect()
    assert connected
    return comm


async def next_of(comm, kind, *, timeout=3.0):
    """Skip other frames until one of `kind` arrives (fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.01, deadline - time.monotonic()))
        if frame["type"] == kind:
            return frame
