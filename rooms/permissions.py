"""Who may do what in a room. One place, used by services, selectors and the consumer.

Members see a room; owners and editors write; viewers read only. System admins act as
owners everywhere. An archived room is read-only for everyone (only its status can change).
"""

import copy
import functools

from django.contrib.auth import get_user_model
from django.db.models import F

from contorl.accounts.tokens import signed_in, signed_in_known
from contorl.errors import Forbidden, NotFound
from contorl.prepared import PreparedLookup, numbered

from .models import Role, Room, RoomMember

WRITE_ROLES = (Role.OWNER, Role.EDITOR)


def is_admin(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_admin)


def membership(room_id: int, user) -> RoomMember | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return RoomMember.objects.filter(room_id=room_id, user_id=user.pk).first()


def role_of(room_id: int, user) -> str | None:
    member = membership(room_id, user)
    if member is not None:
        return member.role
    return Role.OWNER if is_admin(user) else None


def room_and_members(room_id: int, users) -> tuple[Room | None, dict[int, RoomMember]]:
    """The room and the memberships of `users` in it, {user id: membership with its user's
    sign-in state read afresh (is_active, tokens_valid_after)}, in one query when any of them
    is a member (a chat batch's senders usually all are); the room alone otherwise. (None, {})
    when there is no such room."""
    ids = sorted({u.pk for u in users if getattr(u, "is_authenticated", False)})
    found = _members_with_room(len(ids))(room_id=room_id, **numbered("user", ids)) if ids else []
    if not found:
        room = _ROOM(pk=room_id)
        return (room[0] if room else None), {}
    return found[0].room, {member.user_id: member for member in found}


# Every chat send reads these (compiled once, contorl.prepared): a lookup per number of
# senders, as each is a statement of its own shape.
_ROOM = PreparedLookup(lambda pk: Room.objects.filter(pk=pk).order_by()[:1])


@functools.cache
def _members_with_room(count: int) -> PreparedLookup:
    def build(room_id, **users):
        return (
            RoomMember.objects.filter(room_id=room_id, user_id__in=list(users.values()))
            .select_related("room", "user")
            # Of the accounts, their sign-in state only; unordered, which also spares Django
            # matching ORDER BY terms against every selected column.
            .only("role", "room", "user__is_active", "user__tokens_valid_after")
            .order_by()
        )

    return PreparedLookup(build, names=("room_id", *numbered("user", range(count))))


def role_from(members: dict[int, RoomMember], user) -> str | None:
    """role_of(), from what room_and_members() read."""
    member = members.get(user.pk)
    if member is not None:
        return member.role
    return Role.OWNER if is_admin(user) else None


def last_seqs_and_roles(pairs: list[tuple[int, object]], *, issued_at: list | None = None) -> list[tuple]:
    """(the room's last seq, the user's role) for each (room id, user) pair: the admissions and
    resumes of a process's sockets arriving together. One query (memberships with their room's
    last seq), and a second only for admins without a membership, who act as owners. Someone
    who is neither gets (None, None) like a missing room, so nothing tells the two apart.

    With `issued_at` (per pair, the socket's token `iat`, or None for a session) each answer
    has a third item: is the account still signed in (signed_in()), read with the membership
    in the same query, so a resume needs no separate sign-in re-check; a pair without a
    membership costs one more query for all of them."""
    users = [user for _room_id, user in pairs if getattr(user, "is_authenticated", False)]
    if not users:
        return [(None, None) if issued_at is None else (None, None, False)] * len(pairs)
    columns = ["room_id", "user_id", "role", "room__last_seq"]
    if issued_at is not None:
        columns += ["user__is_active", "user__tokens_valid_after"]
    rows = (
        RoomMember.objects.filter(room_id__in={room_id for room_id, _user in pairs}, user_id__in={u.pk for u in users})
        .order_by()  # the default order (by username) joined the users table just to sort
        .values_list(*columns)
    )
    found = {(row[0], row[1]): row[2:] for row in rows}
    missing = {room_id for room_id, user in pairs if is_admin(user) and (room_id, user.pk) not in found}
    admin_rooms = dict(Room.objects.filter(pk__in=missing).order_by().values_list("pk", "last_seq")) if missing else {}
    answers = []
    for room_id, user in pairs:
        if not getattr(user, "is_authenticated", False):
            answers.append((None, None))
        elif (room_id, user.pk) in found:
            role, last_seq, *_account = found[(room_id, user.pk)]
            answers.append((last_seq, role))
        elif room_id in admin_rooms and is_admin(user):
            answers.append((admin_rooms[room_id], Role.OWNER))
        else:
            answers.append((None, None))
    if issued_at is None:
        return answers
    return [
        (*answer, still_in) for answer, still_in in zip(answers, _still_signed_in(pairs, issued_at, found), strict=True)
    ]


def admissions(sockets: list[tuple[int, int, float | None, object | None]]) -> list[tuple]:
    """(account, the room's last seq, role) for each connecting socket's (room id, user id,
    token iat, account): the account is the session's, or None for a token, whose account is
    read here. The account comes back None when it may not sign in (missing, inactive, or the
    token signed out since, as signed_in()); the seq and role are None when the account may not
    see the room (a missing room, or neither a member nor an admin), so nothing tells the two
    apart. A socket thus signs in and is admitted in one read: the memberships with their
    accounts and rooms. Sockets without a membership cost one more query for their accounts
    (all of them together), and admins among them one for their rooms."""
    if not sockets:
        return []
    members = {
        (member.room_id, member.user_id): member
        for member in RoomMember.objects.filter(
            room_id__in={room_id for room_id, *_rest in sockets},
            user_id__in={user_id for _room, user_id, *_ in sockets},
        )
        .select_related("user")
        .annotate(room_last_seq=F("room__last_seq"))
        .order_by()  # the default order (by username) would sort by a joined column for nothing
    }
    others = {user_id for room_id, user_id, _iat, known in sockets if (room_id, user_id) not in members and not known}
    accounts = {user.pk: user for user in get_user_model().objects.filter(pk__in=others).order_by()} if others else {}
    answers, handed_out = [], set()
    for room_id, user_id, issued_at, known in sockets:
        member = members.get((room_id, user_id))
        account = known or (member.user if member is not None else accounts.get(user_id))
        if account is None or not signed_in(account.is_active, account.tokens_valid_after, issued_at):
            answers.append((None, None, None))
            continue
        if known is None:
            # Each socket keeps its own account object (permission caches live on it), also
            # when the same account connects twice in a batch.
            account = copy.copy(account) if id(account) in handed_out else account
            handed_out.add(id(account))
        answers.append((account, member.room_last_seq, member.role) if member is not None else (account, None, None))
    admins = [
        index
        for index, ((room_id, *_rest), (account, _seq, role)) in enumerate(zip(sockets, answers, strict=True))
        if role is None and account is not None and is_admin(account)
    ]
    if admins:  # admins act as owners in rooms they are not members of
        seqs = dict(
            Room.objects.filter(pk__in={sockets[i][0] for i in admins}).order_by().values_list("pk", "last_seq")
        )
        for index in admins:
            room_id, account = sockets[index][0], answers[index][0]
            if room_id in seqs:
                answers[index] = (account, seqs[room_id], Role.OWNER)
    return answers


def _still_signed_in(pairs: list[tuple[int, object]], issued_at: list, found: dict) -> list[bool]:
    accounts = {user_id: tuple(account) for (_room_id, user_id), (_role, _seq, *account) in found.items()}
    authenticated = [getattr(user, "is_authenticated", False) for _room_id, user in pairs]
    sockets = [(user.pk, iat) for (_room_id, user), iat, ok in zip(pairs, issued_at, authenticated, strict=True) if ok]
    checked = iter(signed_in_known(sockets, accounts))
    return [next(checked) if ok else False for ok in authenticated]


def can_view(room_id: int, user) -> bool:
    return role_of(room_id, user) is not None


def require_view(room: Room, user) -> str:
    """The user's role; NotFound (never leak existence) when they may not see the room."""
    role = role_of(room.pk, user)
    if role is None:
        raise NotFound()
    return role


def require_write(room: Room, user) -> str:
    return check_write(room, role_of(room.pk, user))


def check_write(room: Room, role: str | None) -> str:
    """require_write for a role already read (role_from)."""
    if role is None:
        raise NotFound()
    if role not in WRITE_ROLES:
        raise Forbidden("Viewers can read this room but not write in it.")
    if room.status == Room.Status.ARCHIVED:
        raise Forbidden("This room is archived and read-only.")
    return role


def require_owner(room: Room, user) -> str:
    role = require_view(room, user)
    if role != Role.OWNER:
        raise Forbidden("Only a room owner can do this.")
    return role
