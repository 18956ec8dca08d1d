"""The shapes every app puts in REST bodies and WebSocket frames alike.

One user shape and one timestamp format, so a client can compare what it read over REST
with what a frame told it (rooms used to send microseconds over REST and milliseconds in
frames: DRF and DjangoJSONEncoder format datetimes differently).
"""

import datetime
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Func, TextField


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


class TimestampText(Func):
    """timestamp() of a datetime column, written by the database: lists of thousands of rows
    (the board) spent more time parsing timestamps into datetimes and formatting them back
    than on anything else. Microseconds only when not zero, as isoformat() does. For a plain
    column only (its SQL appears three times in PostgreSQL's template)."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):  # SQLite: stored as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]"
        return self.as_sql_template(compiler, connection, "REPLACE(%(expressions)s, ' ', 'T') || 'Z'")

    def as_postgresql(self, compiler, connection, **extra):
        utc = "(%(expressions)s AT TIME ZONE 'UTC')"
        template = (
            f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
            f"mod(date_part('microseconds', {utc})::bigint, 1000000) = 0 THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
        )
        return self.as_sql_template(compiler, connection, template)

    def as_sql_template(self, compiler, connection, template):
        return super().as_sql(compiler, connection, template=template)


class JsonText(Func):
    """A JSON column as its text, for json_value(): most custom field columns of a board are
    `{}`, which needs no parsing."""

    template = "CAST(%(expressions)s AS TEXT)"
    output_field = TextField()


def json_value(text: str | None):
    if text is None or text == "{}":
        return {}
    return json.loads(text)


class FrameEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder, but datetimes as `timestamp()` (REST's format, not milliseconds)."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            return timestamp(o)
        return super().default(o)
