"""The WebSocket half of the authorization matrix (WS_MATRIX lives in test_authz_matrix.py,
next to the HTTP table). A separate module because it needs committed data."""

import json

from .test_authz_matrix import ROLES, WS_MATRIX, fill


async def test_ws_matrix(ws_world):
    for path, expected in WS_MATRIX:
        await ws_matrix_row(ws_world, path, expected)


async def ws_matrix_row(world, path, expected):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from rest_framework_simplejwt.tokens import AccessToken

    from contorl.asgi import application

    wanted = dict(zip(ROLES, expected.split(), strict=True))
    got = {}
    for role in ROLES:
        token = (
            "not-a-token"
            if role == "anon"
            else str(await database_sync_to_async(AccessToken.for_user)(world["users"][role]))
        )
        comm = WebsocketCommunicator(
            application, fill(path, world), headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")]
        )
        connected, _ = await comm.connect(timeout=5)
        assert connected
        await comm.send_json_to({"type": "auth", "token": token})
        # Admitted sockets stay open; refused ones close with a code. A ping round trip via an
        # unknown frame type tells the two apart without waiting for a timeout.
        await comm.send_json_to({"type": "matrix_probe"})
        result = None
        while result is None:
            out = await comm.receive_output(timeout=5)
            if out["type"] == "websocket.close":
                result = str(out.get("code"))
            elif out["type"] == "websocket.send":
                frame = json.loads(out["text"])
                if frame.get("type") == "error" and frame["data"]["code"] == "unknown_type":
                    result = "ok"
        got[role] = result
        await comm.disconnect()
    assert got == wanted, path
