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


def came_or_went(delta: int, count: int) -> bool:
    """Whether a join (+delta) or leave (-delta) that left `count` sockets changed who is online:
    a user's first socket in, or their last one out."""
    return count == delta if delta > 0 else count <= 0


def publish_presence(changed: dict[int, dict[int, object]]) -> int:
    """Presence frames for users who came or went, {room id: {user id: user}}: one frame per room
    and state. Each user's state is read now, so a frame never says what an earlier change said
    after a later one undid it (a quick reconnect, maybe on another process, is no flap). Only
    those users: clients keep the list (GET /online/ gives it whole at start); sending the whole
    list made every join O(room size) in reads and bytes. Returns the number of frames."""
    keys = [_presence_key(room_id, user_id) for room_id, users in changed.items() for user_id in users]
    counts = cache.get_many(keys)
    frames = 0
    with events.batched():
        for room_id, users in changed.items():
            by_state: dict[bool, list] = {True: [], False: []}
            for user_id, user in users.items():
                by_state[(counts.get(_presence_key(room_id, user_id)) or 0) > 0].append(user)
            for online, who in by_state.items():
                if who:
                    _publish_presence(room_id, who, online)
                    frames += 1
    return frames


def _publish_presence(room_id: int, users: list, online: bool) -> None:
    # One user: {"user", "online"} with them as the actor. Several (who came or went together):
    # {"users", "online"}, with no actor, as Slack's presence_change does.
    if len(users) == 1:
        data, actor = {"user": user_brief(users[0]), "online": online}, users[0]
    else:
        data, actor = {"users": [user_brief(u) for u in users], "online": online, "actor": None}, None
    events.publish(events.room_group(room_id), "presence", data, actor=actor)


def presence_join(*, room_id: int, user) -> int:
    return apply_changes([(room_id, user, 1)])[0]


# One socket joining (+1) or leaving (-1), atomically: a count never goes below zero (a leave
# whose key already expired finds nothing, as a missing key must not turn into -1 and swallow
# the next join), a key at zero is gone, and a live key keeps its expiry.
_CHANGE_COUNT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n <= 0 then
    redis.call('DEL', KEYS[1])
    return 0
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
"""


def apply_changes(changes: list[tuple[int, object, int]], *, announce: bool = True) -> list[int]:
    """Sockets joining (+1) and leaving (-1) rooms, in order: each (room id, user, delta)'s
    socket count after it. One pipelined round trip on Redis for the whole list, one read of the
    typing keys of those who left and one hand-off of the frames: a process whose thousands of sockets
    connect or drop at once (a network blip) pays a few round trips per batch, not a thread
    hop and five round trips per socket (bench/PROFILE.md, fifth session).

    A user's first socket in a room announces them online; their last one leaving announces
    them offline, clears their typing state and deletes the key. With `announce=False` the
    caller announces (rooms.presence_frames gathers a process's announcements)."""
    client = _redis_client()
    if client is None:  # local-memory cache (embedded mode): no round trips to save
        counts = [_change_locally(room_id, user, delta) for room_id, user, delta in changes]
    else:
        script = client.register_script(_CHANGE_COUNT)
        pipe = client.pipeline(transaction=False)  # each script is atomic; the pipeline keeps their order
        for room_id, user, delta in changes:
            script(
                keys=[cache.make_and_validate_key(_presence_key(room_id, user.pk))],
                args=[delta, PRESENCE_TTL],
                client=pipe,
            )
        counts = pipe.execute()
    gone_users = [
        (room_id, user)
        for (room_id, user, delta), count in zip(changes, counts, strict=True)
        if delta < 0 and count <= 0
    ]
    was_typing = _clear_typing(gone_users)
    with events.batched():
        for (room_id, user, delta), count in zip(changes, counts, strict=True):
            if delta < 0 and count <= 0 and (room_id, user.pk) in was_typing:
                was_typing.discard((room_id, user.pk))
                _publish_typing_stopped(room_id, user)
            if announce and came_or_went(delta, count):
                _publish_presence(room_id, [user], delta > 0)
    return [max(count, 0) for count in counts]


def _change_locally(room_id: int, user, delta: int) -> int:
    key = _presence_key(room_id, user.pk)
    cache.add(key, 0, PRESENCE_TTL)
    try:
        count = cache.incr(key, delta)
    except ValueError:  # expired between add and incr
        count = delta
        cache.set(key, count, PRESENCE_TTL)
    if count <= 0:
        cache.delete(key)
    else:
        cache.touch(key, PRESENCE_TTL)
    return count


# Keep one (room, user) key alive: extend its expiry or, when it expired meanwhile (Redis
# restarted, a long pause), write this process's socket count back. One script, so no other
# process's join can land between finding the key gone and writing it (and be written over).
_KEEP_COUNT = """
if redis.call('EXPIRE', KEYS[1], ARGV[2]) == 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
"""


def refresh_many(present: dict[tuple[int, int], int]) -> None:
    """Extend the presence keys of every (room, user) -> local socket count in one batch: a
    single pipelined round trip on Redis. Callers pass the counts as they stand in the
    sequence of joins and leaves (rooms.consumers sends it through the presence outbox): a
    count read before a leave and written after it would bring the user back online."""
    if not present:
        return
    keys = {_presence_key(room, user): count for (room, user), count in present.items()}
    client = _redis_client()
    if client is None:  # local-memory cache (embedded mode): no round trips to save
        for key, count in keys.items():
            if not cache.touch(key, PRESENCE_TTL):
                cache.set(key, count, PRESENCE_TTL)
        return
    script = client.register_script(_KEEP_COUNT)
    pipe = client.pipeline(transaction=False)
    for key, count in keys.items():
        script(keys=[cache.make_and_validate_key(key)], args=[count, PRESENCE_TTL], client=pipe)
    pipe.execute()


def _redis_client():
    backend = getattr(cache, "_cache", None)
    get_client = getattr(backend, "get_client", None)
    return get_client(write=True) if get_client else None


def presence_leave(*, room_id: int, user) -> int:
    return apply_changes([(room_id, user, -1)])[0]


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
    users = list(users)
    stopped = _clear_typing([(room_id, user) for user in users])
    for user in users:
        if (room_id, user.pk) in stopped:
            _publish_typing_stopped(room_id, user)


def _clear_typing(pairs: list[tuple[int, object]]) -> set[tuple[int, int]]:
    """Clear the typing state of each (room id, user) in one read and one delete; the
    (room id, user id) pairs that were typing. Typing is ephemeral: with the cache (Redis)
    down, nothing is cleared and the message send or the leave still goes ahead."""
    keys = {_typing_key(room_id, user.pk): (room_id, user.pk) for room_id, user in pairs}
    if not keys:
        return set()
    try:
        typing = cache.get_many(list(keys))
        if typing:
            cache.delete_many(list(typing))
    except Exception:
        log.warning("typing state unavailable for rooms %s", sorted({room for room, _user in keys.values()}))
        return set()
    return {keys[key] for key in typing}


def _publish_typing_stopped(room_id: int, user) -> None:
    data = {"user": user_brief(user), "typing": False, "expires_in": 0}
    events.publish(events.room_group(room_id), "typing", data, actor=user)
