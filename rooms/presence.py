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
from contorl.payloads import user_brief

from .models import RoomMember

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
    # Only the user who came or went: clients keep the list (GET /online/ gives it whole at
    # start). Sending the whole list made every join O(room size) in reads and bytes.
    data = {"user": user_brief(user), "online": online}
    events.publish(events.room_group(room_id), "presence", data, actor=user)


def presence_join(*, room_id: int, user) -> int:
    key = _presence_key(room_id, user.pk)
    client = _redis_client()
    if client is not None:
        # One round trip per admission (was three: add, incr, touch). INCR creates a missing
        # key, and MULTI keeps a key from being left without its expiry.
        pipe = client.pipeline(transaction=True)
        pipe.incr(cache.make_and_validate_key(key))
        pipe.expire(cache.make_and_validate_key(key), PRESENCE_TTL)
        count = pipe.execute()[0]
    else:
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
    refresh_many({(room_id, user.pk): 1})


def refresh_many(present: dict[tuple[int, int], int]) -> None:
    """Extend the presence keys of every (room, user) -> local socket count in one batch: a
    single pipelined round trip on Redis. A key that expired meanwhile (Redis restarted, a
    long pause) is written again with the local count."""
    if not present:
        return
    keys = {_presence_key(room, user): count for (room, user), count in present.items()}
    client = _redis_client()
    if client is None:  # local-memory cache (embedded mode): no round trips to save
        for key, count in keys.items():
            if not cache.touch(key, PRESENCE_TTL):
                cache.set(key, count, PRESENCE_TTL)
        return
    raw = {cache.make_and_validate_key(key): count for key, count in keys.items()}
    pipe = client.pipeline(transaction=False)
    for key in raw:
        pipe.expire(key, PRESENCE_TTL)
    missing = [key for key, ok in zip(raw, pipe.execute(), strict=True) if not ok]
    if missing:
        pipe = client.pipeline(transaction=False)
        for key in missing:
            # Django's Redis cache stores small ints as plain integers, so incr/decr still work.
            pipe.set(key, raw[key], ex=PRESENCE_TTL)
        pipe.execute()


def _redis_client():
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    return get_client(write=True) if get_client else None


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
    typing_stop_many(room_id=room_id, users=[user])


def typing_stop_many(*, room_id: int, users) -> None:
    """typing_stop for the senders of a batch of messages: one read for all of them."""
    keys = {_typing_key(room_id, u.pk): u for u in users}
    try:
        typing = cache.get_many(list(keys))
        if typing:
            cache.delete_many(list(typing))
    except Exception:  # the cache (Redis) is down: typing is ephemeral, the message send is not
        log.warning("typing state unavailable for room %s", room_id)
        return
    for key in typing:
        user = keys[key]
        data = {"user": user_brief(user), "typing": False, "expires_in": 0}
        events.publish(events.room_group(room_id), "typing", data, actor=user)
