"""WebSocket fuzzing: malformed, oversized, wrong-type and random frames on every endpoint.

The contract: a frame that is not a JSON object with a string "type" closes the socket with
4400; anything before auth that is not a valid auth frame closes with 4401; a flood closes
with 4429; a well-formed frame the endpoint does not accept, or with bad fields, is answered
with an error frame and the socket stays open. Never a crash (1011) and never silence.
"""

import json
import random

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

pytestmark = [pytest.mark.timeout(120)]

ENDPOINTS = ("/ws/projects/{P}/", "/ws/rooms/{R}/", "/ws/notifications/")
# Frame types each endpoint accepts from clients (besides auth and pong).
CLIENT_TYPES = {
    "/ws/projects/{P}/": [],
    "/ws/rooms/{R}/": ["message", "typing", "resume"],
    "/ws/notifications/": [],
}


def path_for(template: str, world: dict) -> str:
    return template.format(P=world["P"], R=world["R"])


async def connect(path: str, token: str | None):
    from contorl.asgi import application

    comm = WebsocketCommunicator(
        application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")]
    )
    connected, _ = await comm.connect(timeout=5)
    assert connected
    if token is not None:
        await comm.send_json_to({"type": "auth", "token": token})
    return comm


async def token_for(user) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(await database_sync_to_async(AccessToken.for_user)(user))


async def admitted(comm) -> None:
    """Probe with an unknown type: the error frame proves the socket is admitted and alive."""
    await comm.send_json_to({"type": "fuzz_probe"})
    await until_frame(comm, lambda f: f.get("type") == "error" and f["data"]["code"] == "unknown_type")


async def until_frame(comm, predicate, timeout: float = 5):
    while True:
        out = await comm.receive_output(timeout=timeout)
        if out["type"] == "websocket.close":
            raise AssertionError(f"socket closed with {out.get('code')} while waiting")
        frame = json.loads(out["text"])
        if predicate(frame):
            return frame


async def closed_with(comm, timeout: float = 5) -> int:
    while True:
        out = await comm.receive_output(timeout=timeout)
        if out["type"] == "websocket.close":
            return out.get("code")


MALFORMED = [
    "not json",
    "{",
    "[]",
    '["type", "message"]',
    "42",
    '"message"',
    "null",
    "{}",
    '{"type": 5}',
    '{"type": null}',
    '{"type": ["message"]}',
    '{"kind": "message"}',
]


async def check_malformed_frames_close_4400(ws_world, settings, template):
    settings.WS_FRAME_RATE = "1000/s"
    token = await token_for(ws_world["users"]["owner"])
    for raw in [*MALFORMED, "x" * (settings.WS_MAX_FRAME_BYTES + 1)]:
        comm = await connect(path_for(template, ws_world), token)
        await admitted(comm)
        await comm.send_to(text_data=raw)
        assert await closed_with(comm) == 4400, raw[:40]
        await comm.disconnect()
    comm = await connect(path_for(template, ws_world), token)
    await admitted(comm)
    await comm.send_to(bytes_data=b"\x00\x01binary")
    assert await closed_with(comm) == 4400
    await comm.disconnect()


async def check_bad_auth_frames_close_4401(ws_world, template):
    bad = [
        {"type": "auth"},
        {"type": "auth", "token": 123},
        {"type": "auth", "token": None},
        {"type": "auth", "token": "x" * 5000},
        {"type": "auth", "token": "eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoxfQ."},  # alg=none
        {"type": "message", "content": "before auth"},
        {"type": "resume", "last_seq": 0},
    ]
    for frame in bad:
        comm = await connect(path_for(template, ws_world), None)
        await comm.send_json_to(frame)
        assert await closed_with(comm) == 4401, frame
        await comm.disconnect()


async def check_flood_closes_4429(ws_world, settings, template):
    settings.WS_FRAME_RATE = "20/s"
    comm = await connect(path_for(template, ws_world), await token_for(ws_world["users"]["owner"]))
    await admitted(comm)
    for _ in range(60):
        await comm.send_json_to({"type": "pong"})
    assert await closed_with(comm) == 4429
    await comm.disconnect()


def random_value(rng: random.Random, depth: int = 0):
    kinds = ["int", "bigint", "float", "str", "bool", "none", "list", "dict", "unicode", "html"]
    kind = rng.choice(kinds if depth < 2 else kinds[:7])
    if kind == "int":
        return rng.randint(-5, 5)
    if kind == "bigint":
        return rng.choice([2**63, -(2**63) - 1, 10**30])
    if kind == "float":
        return rng.choice([0.5, -1e308, 1e308, 3.14])
    if kind == "str":
        return "".join(rng.choice("ab01 -_{}%$") for _ in range(rng.randint(0, 20)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "unicode":
        return rng.choice(["火警 🔥", "\u202eevil", "\x00nul", "a" * 20000, "ｆｕｌｌ"])
    if kind == "html":
        return rng.choice(["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)"])
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(["a", "type", "seq", "id"]): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


FIELDS = ["content", "message_type", "client_id", "metadata", "last_seq", "token", "data", "seq", "room"]


async def check_random_wellformed_frames_get_answers_not_crashes(ws_world, settings, template):
    """Seeded random frames of every accepted type (and unknown ones) with wrong-typed fields:
    each is answered (ack, resumed or an error frame) or ignored (pong, typing); the socket stays
    open, and the server still serves a fresh connection afterwards."""
    settings.WS_FRAME_RATE = "10000/s"
    settings.RATELIMIT_CHAT = "10000/s"
    rng = random.Random(f"contorl-fuzz-{template}")
    types = [*CLIENT_TYPES[template], "auth", "pong", "ping", "", "MESSAGE", "x" * 300]
    comm = await connect(path_for(template, ws_world), await token_for(ws_world["users"]["owner"]))
    await admitted(comm)
    for i in range(120):
        frame = {"type": rng.choice(types)}
        for field in rng.sample(FIELDS, rng.randint(0, 4)):
            frame[field] = random_value(rng)
        if frame["type"] == "message" and rng.random() < 0.5:
            frame["client_id"] = f"fuzz-{i}"  # some well-formed sends among the junk
        await comm.send_json_to(frame)
        # Read whatever the server says up to its answer to a marker frame sent after this
        # one (a socket handles its frames in order); a close here is a failure. No waiting
        # out a quiet period: a marker round trip instead of 50 ms per frame.
        marker = f"after-frame-{i}"
        await comm.send_json_to({"type": marker})
        while True:
            out = await comm.receive_output(timeout=5)
            assert out["type"] != "websocket.close", f"frame {i} {str(frame)[:200]} closed the socket: {out}"
            sent = json.loads(out["text"])
            assert sent.get("type") != "error" or sent["data"]["code"], sent
            if sent.get("type") == "error" and f"'{marker}'" in sent["data"]["message"]:
                break
    await admitted(comm)  # still alive and answering
    await comm.disconnect()
    fresh = await connect(path_for(template, ws_world), await token_for(ws_world["users"]["member"]))
    await admitted(fresh)
    await fresh.disconnect()


@pytest.mark.parametrize("template", ENDPOINTS)
async def test_fuzz_endpoint(ws_world, settings, template):
    # One test per endpoint (the committed world costs a few seconds to build).
    await check_bad_auth_frames_close_4401(ws_world, template)
    await check_malformed_frames_close_4400(ws_world, settings, template)
    await check_random_wellformed_frames_get_answers_not_crashes(ws_world, settings, template)
    await check_flood_closes_4429(ws_world, settings, template)
