"""Who is in a room and who is typing, shared by every daphne process via the cache.

The cache is Redis in production, so these keys are the cross-process truth; each key
expires on its own, so a crashed process cannot leave a user "online" or "typing" forever.

- presence: `rooms:presence:<room>:<user>` = number of open sockets of that user in that
  room, refreshed by the consumer every heartbeat (TTL PRESENCE_TTL).
- typing: `rooms:typing:<room>:<user>` = time of the last typing broadcast, TTL TYPING_TTL
  from the last typing frame. A frame re-broadcasts only when the key was absent or the last
  broadcast is older than TYPING_REBROADCAST (debounce), so a fast typist is not a flood.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache

from contorl import events

from .models import RoomMember
from .payloads import user_brief

log = logging.getLogger("contorl.rooms.presence")

PRESENCE_TTL = 90


def typing_ttl() -> float:
    return float(settings.ROOM_TYPING_TTL)


def _presence_key(room_id: int, user_id: int) -> str:
    return f"rooms:presence:{room_id}:{user_id}"


def _typing_key(room_id: int, user_id: int) -> str:
    return f"rooms:typing:{room_id}:{user_id}"


def _member_users(room_id: int) -> list:
    return [m.user for m in RoomMember.objects.filter(room_id=room_id).select_related("user")]


def online_users(room_id: int, members: list | None = None) -> list[dict]:
    members = members if members is not None else _member_users(room_id)
    found = cache.get_many([_presence_key(room_id, u.pk) for u in members])
    return [user_brief(u) for u in members if (found.get(_presence_key(room_id, u.pk)) or 0) > 0]


def typing_users(room_id: int, members: list | None = None) -> list[dict]:
    members = members if members is not None else _member_users(room_id)
    found = cache.get_many([_typing_key(room_id, u.pk) for u in members])
    return [user_brief(u) for u in members if _typing_key(room_id, u.pk) in found]


def _publish_presence(room_id: int, user, online: bool) -> None:
    data = {"user": user_brief(user), "online": online, "online_users": online_users(room_id)}
    events.publish(events.room_group(room_id), "presence", data, actor=user)


def presence_join(*, room_id: int, user) -> int:
    key = _presence_key(room_id, user.pk)
    cache.add(key, 0, PRESENCE_TTL)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, PRESENCE_TTL)
        count = 1
    cache.touch(key, PRESENCE_TTL)
    if count == 1:
        _publish_presence(room_id, user, True)
    return count


def presence_refresh(*, room_id: int, user) -> None:
    key = _presence_key(room_id, user.pk)
    if not cache.touch(key, PRESENCE_TTL):
        cache.set(key, 1, PRESENCE_TTL)


def presence_leave(*, room_id: int, user) -> int:
    key = _presence_key(room_id, user.pk)
    try:
        count = cache.decr(key)
    except ValueError:
        count = 0
    if count <= 0:
        cache.delete(key)
        typing_stop(room_id=room_id, user=user)
        _publish_presence(room_id, user, False)
    return max(count, 0)


def typing_ping(*, room_id: int, user) -> bool:
    """Record a typing frame; True when it was broadcast (not debounced)."""
    key = _typing_key(room_id, user.pk)
    now = time.time()
    ttl = typing_ttl()
    last = cache.get(key)
    rebroadcast = settings.ROOM_TYPING_REBROADCAST
    if last is not None and now - last < rebroadcast:
        cache.touch(key, ttl)  # still typing: extend the expiry, say nothing
        return False
    cache.set(key, now, ttl)
    data = {"user": user_brief(user), "typing": True, "expires_in": ttl}
    events.publish(events.room_group(room_id), "typing", data, actor=user)
    return True


def typing_stop(*, room_id: int, user) -> None:
    """Clear typing at once (the user sent a message or left) and tell the room."""
    try:
        if cache.get(_typing_key(room_id, user.pk)) is None:
            return
        cache.delete(_typing_key(room_id, user.pk))
    except Exception:  # the cache (Redis) is down: typing is ephemeral, the message send is not
        log.warning("typing state unavailable for room %s", room_id)
        return
    data = {"user": user_brief(user), "typing": False, "expires_in": 0}
    events.publish(events.room_group(room_id), "typing", data, actor=user)
