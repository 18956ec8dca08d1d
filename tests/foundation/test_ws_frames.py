"""contorl.ws_frames: a text frame written to daphne's socket directly is the frame autobahn
would have written, and anything out of the plain case goes through daphne as before."""

import functools

import pytest
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.protocol import WebSocketProtocol
from daphne.server import Server
from twisted.internet.testing import StringTransport

from contorl import ws_frames
from contorl.consumers import ContorlConsumer


def _open_socket():
    factory = WebSocketServerFactory()
    factory.protocol = WebSocketServerProtocol  # autobahn's, over twisted, as daphne's protocol is
    factory.setProtocolOptions(maxMessagePayloadSize=2**20)  # as daphne sets it
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    protocol.state = WebSocketProtocol.STATE_OPEN
    protocol.transport.clear()
    return protocol


def _daphne_send(protocol, **details):
    server = Server(application=None, endpoints=["tcp:port=0:interface=127.0.0.1"])  # never started
    server.connections = {protocol: details}
    return functools.partial(server.handle_reply, protocol)


TEXTS = ['{"type": "message", "seq": 1}', "停機 " * 40, "x" * 125, "x" * 126, "y" * 65535, "z" * 70_000]


@pytest.mark.parametrize("text", TEXTS, ids=lambda t: f"{len(t.encode())} bytes")
def test_the_bytes_are_what_autobahn_writes(text):
    direct, through_autobahn = _open_socket(), _open_socket()
    write = ws_frames.direct_writer(_daphne_send(direct))
    assert write(text) is True
    through_autobahn.sendMessage(text.encode(), isBinary=False)
    assert direct.transport.value() == through_autobahn.transport.value()


def test_a_groups_frame_is_built_once():
    text = '{"type": "message", "seq": 7}'
    first, _ = ws_frames.text_frame(text)
    assert ws_frames.text_frame(text)[0] is first
    assert ws_frames.text_frame(str(text.encode().decode()))[0] == first  # equal text, same bytes


@pytest.mark.parametrize(
    "change",
    [
        lambda p: setattr(p, "state", WebSocketProtocol.STATE_CLOSING),
        lambda p: setattr(p, "_perMessageCompress", object()),
        lambda p: p.send_queue.append((b"queued", True)),
        lambda p: setattr(p, "autoFragmentSize", 10),
        lambda p: setattr(p, "maxMessagePayloadSize", 8),
        lambda p: setattr(p, "logFrames", True),
    ],
    ids=["closing", "compressed", "queued", "fragmenting", "over the size limit", "logging frames"],
)
def test_anything_but_the_plain_case_takes_daphnes_way(change):
    protocol = _open_socket()
    write = ws_frames.direct_writer(_daphne_send(protocol))
    change(protocol)
    assert write('{"type": "ping"}') is False
    assert protocol.transport.value() == b""


def test_an_empty_text_is_dropped_as_daphne_drops_it():
    protocol = _open_socket()
    assert ws_frames.direct_writer(_daphne_send(protocol))("") is True
    assert protocol.transport.value() == b""


def test_a_socket_daphne_has_let_go_gets_nothing():
    protocol = _open_socket()
    assert ws_frames.direct_writer(_daphne_send(protocol, disconnected=True))("gone") is True
    assert protocol.transport.value() == b""


def test_other_servers_keep_the_asgi_send():
    async def send(message):
        pass

    protocol = _open_socket()
    assert ws_frames.direct_writer(send) is None
    assert ws_frames.direct_writer(functools.partial(send)) is None
    assert ws_frames.direct_writer(functools.partial(print, protocol)) is None
    assert ContorlConsumer._write_frame is None  # a consumer under the test communicator


async def test_a_consumer_under_daphne_writes_directly():
    protocol = _open_socket()
    sent = []

    async def fallback(message):
        sent.append(message)

    consumer = ContorlConsumer()
    consumer.base_send = fallback
    consumer.endpoint = "/ws/test/"
    consumer._write_frame = ws_frames.direct_writer(_daphne_send(protocol))
    await consumer.send(text_data='{"type": "ready"}')
    assert protocol.transport.value().endswith(b'{"type": "ready"}') and sent == []
    protocol.state = WebSocketProtocol.STATE_CLOSING
    await consumer.send(text_data='{"type": "late"}')
    assert sent == [{"type": "websocket.send", "text": '{"type": "late"}'}]
