"""A server text frame written to daphne's socket directly, its bytes built once per group frame.

Every fan-out frame went through daphne's `Server.handle_reply` coroutine, its protocol's
`serverSend` (a debug log call), and autobahn's `sendMessage`, `sendFrame` and `sendData`
(type assertions, traffic counters, a header built bit by bit, a debug log whose arguments are
formatted on every call): a quarter of daphne's time in the message writes (bench/PROFILE.md,
tenth session). A server frame is never masked, so its bytes are the same for every socket:
here they are built once for the 50 members of a room that get the same text, and written to
each transport as autobahn would write them.

Only the plain case takes this path: a daphne WebSocket that is open, with no compression, no
fragmenting, a frame within daphne's size limit, nothing waiting in autobahn's send queue and
no frame or octet logging. Anything else (and any server other than daphne) goes through the
ASGI `send` as before.
"""

import functools

from autobahn.websocket.protocol import WebSocketProtocol

try:
    from daphne.server import Server
except ImportError:  # served by something else: every frame takes the ASGI send
    Server = None

_OPEN = WebSocketProtocol.STATE_OPEN
_last: tuple[str | None, bytes, int] = (None, b"", 0)


def text_frame(text: str) -> tuple[bytes, int]:
    """The bytes of an unmasked, final text frame carrying `text` (RFC 6455, 5.2), and the
    payload's size. The frame of the last text asked for is kept: a group's members are
    handed the same str object."""
    global _last
    if _last[0] is text:
        return _last[1], _last[2]
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = b"\x81\x7e" + size.to_bytes(2, "big")
    else:
        header = b"\x81\x7f" + size.to_bytes(8, "big")
    frame = header + payload
    _last = (text, frame, size)
    return frame, size


def direct_writer(send):
    """For an ASGI `send` that is daphne's reply to a WebSocket: a function that writes a text
    frame to that socket and returns True, or returns False when the frame must take `send`.
    None for any other `send`."""
    if Server is None or not isinstance(send, functools.partial) or send.keywords or len(send.args) != 1:
        return None
    server = getattr(send.func, "__self__", None)
    if not isinstance(server, Server) or getattr(send.func, "__func__", None) is not Server.handle_reply:
        return None
    protocol = send.args[0]
    if not isinstance(protocol, WebSocketProtocol):
        return None
    connections = server.connections

    def write(text: str) -> bool:
        if not text:
            return True  # daphne sends nothing for an empty text either
        if (
            protocol.state != _OPEN
            or protocol._perMessageCompress is not None
            or protocol.send_queue
            or protocol.autoFragmentSize
            or protocol.logFrames
            or protocol.logOctets
            or protocol.trackedTimings
        ):
            return False
        details = connections.get(protocol)
        if details is None or details.get("disconnected"):
            return True  # what daphne does with a reply to a socket that has gone: nothing
        frame, size = text_frame(text)
        if 0 < protocol.maxMessagePayloadSize < size:
            return False  # autobahn refuses it (and says so)
        protocol.transport.write(frame)
        return True

    return write
