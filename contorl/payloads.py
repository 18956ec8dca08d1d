"""The shapes every app puts in REST bodies and WebSocket frames alike.

One user shape and one timestamp format, so a client can compare what it read over REST
with what a frame told it (rooms used to send microseconds over REST and milliseconds in
frames: DRF and DjangoJSONEncoder format datetimes differently).
"""

import datetime

from django.core.serializers.json import DjangoJSONEncoder


def user_brief(user) -> dict | None:
    """`{id, username, display_name}` of a user (None for none or an anonymous user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return {"id": user.pk, "username": user.username, "display_name": user.get_full_name() or user.username}


def timestamp(value: datetime.datetime | None) -> str | None:
    """ISO 8601 with microseconds and `Z` for UTC: what DRF's DateTimeField writes."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class FrameEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes as `timestamp()` (REST's format, not milliseconds)."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return timestamp(o)
        return super().default(o)
