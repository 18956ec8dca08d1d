"""The session and user of a WebSocket: channels' AuthMiddlewareStack, less its per-socket costs.

channels' stack (CookieMiddleware, SessionMiddleware, AuthMiddleware) did two things per socket
that a WebSocket never needs:

- it wrapped `send`, so every frame the socket ever sent (each chat message, presence change
  and fan-out frame) first read two attributes of the lazy session, to save the session
  on an HTTP response. WebSocket messages are never among the types it saves on, so the
  check could not succeed; it was about a third of a fan-out frame's cost in daphne
  (bench/PROFILE.md, ninth session).
- it looked the user up in the one shared sync thread for every socket, a thread hop even
  for a socket with no session cookie (a script or service that signs in by token frame).

Here the scope gets the same keys (`cookies`, `session`, `user`) and the frames go straight
to the server. A socket with a session cookie still resolves its user with channels'
`get_user` (same session-hash check, same thread).
"""

from importlib import import_module

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import parse_cookie


def _cookies(scope) -> dict:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1"))
    return {}


class SocketSessionMiddleware:
    def __init__(self, inner):
        self.inner = inner
        self.session_store = import_module(settings.SESSION_ENGINE).SessionStore

    async def __call__(self, scope, receive, send):
        cookies = _cookies(scope)
        session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        scope = {**scope, "cookies": cookies, "session": self.session_store(session_key)}
        scope["user"] = await get_user(scope) if session_key else AnonymousUser()
        return await self.inner(scope, receive, send)
