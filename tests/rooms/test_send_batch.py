"""Group commit of chat sends: a room's waiting sends are stored together, each judged alone."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from contorl.consumers import SignedOut
from contorl.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from contorl.groupcommit import GroupCommit
from rooms import consumers, services
from rooms.models import Message, Room
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_batch_takes_consecutive_seqs_and_its_frames_leave_in_seq_order(user, carol, make_user, room_frames):
    dave = make_user("dave")
    room = make_room(user, members=[(carol, "editor"), (dave, "editor")])
    received = room_frames(room.pk)
    start = Room.objects.get(pk=room.pk).last_seq
    sends = [services.ChatSend(by=u, content=f"pump {i}", client_id=f"b{i}") for i, u in enumerate([carol, dave, user])]
    outcomes = services.message_send_batch(room.pk, sends)
    assert [m.seq for m, created in outcomes] == [start + 1, start + 2, start + 3]
    assert all(created for _m, created in outcomes)
    stored = list(Message.objects.filter(room=room, seq__gt=start).order_by("seq").values_list("content", "sender"))
    assert stored == [("pump 0", carol.pk), ("pump 1", dave.pk), ("pump 2", user.pk)]
    assert Room.objects.get(pk=room.pk).last_seq == start + 3
    messages = [f for f in received() if f["type"] == "message"]
    assert [(f["seq"], f["data"]["content"]) for f in messages] == [
        (start + 1, "pump 0"),
        (start + 2, "pump 1"),
        (start + 3, "pump 2"),
    ]
    # The answer is what a fresh read gives.
    fresh = Message.objects.get(pk=outcomes[1][0].pk)
    assert (fresh.seq, fresh.client_id, fresh.created_at) == (
        outcomes[1][0].seq,
        "b1",
        outcomes[1][0].created_at,
    )


def test_each_send_is_judged_on_its_own(user, carol, viewer, other_user, settings):
    settings.RATELIMIT_CHAT = "100/d"
    room = make_room(user, members=[(carol, "editor"), (viewer, "viewer")])
    earlier, _ = services.message_send(room=room, by=carol, content="first try", client_id="retry-me")
    start = Room.objects.get(pk=room.pk).last_seq
    outcomes = services.message_send_batch(
        room.pk,
        [
            services.ChatSend(by=viewer, content="viewers read only"),
            services.ChatSend(by=carol, content="pump 7 tripped", client_id="twice"),
            services.ChatSend(by=other_user, content="not a member"),
            services.ChatSend(by=user, content="   "),
            services.ChatSend(by=carol, content="first try", client_id="retry-me"),
            services.ChatSend(by=carol, content="pump 7 tripped", client_id="twice"),
            services.ChatSend(by=user, content="x", client_id=["not", "a", "string"]),
            services.ChatSend(by=user, content="valve closed"),
        ],
    )
    assert isinstance(outcomes[0], Forbidden)
    assert isinstance(outcomes[2], NotFound)
    assert isinstance(outcomes[3], ValidationFailed) and "content" in outcomes[3].details
    assert isinstance(outcomes[6], ValidationFailed) and "client_id" in outcomes[6].details
    assert outcomes[4] == (earlier, False)  # a retry answers with the stored original
    twice, created = outcomes[1]
    assert created and outcomes[5] == (twice, False)  # the same client_id twice in one batch: stored once
    valve, created = outcomes[7]
    assert created and (twice.seq, valve.seq) == (start + 1, start + 2)
    assert Room.objects.get(pk=room.pk).last_seq == start + 2  # refused sends take no seq
    assert Message.objects.filter(room=room, seq__gt=start).count() == 2


def test_the_rate_limit_counts_every_send_of_a_batch(user, carol, settings):
    settings.RATELIMIT_CHAT = "2/d"  # a window a slow run cannot straddle
    room = make_room(user, members=[(carol, "editor")])
    outcomes = services.message_send_batch(
        room.pk,
        [services.ChatSend(by=carol, content=f"m{i}") for i in range(3)] + [services.ChatSend(by=user, content="ok")],
    )
    assert [type(o).__name__ for o in outcomes] == ["tuple", "tuple", "RateLimited", "tuple"]
    assert isinstance(outcomes[2], RateLimited)


def test_a_unique_clash_rolls_the_batch_back_and_stores_each_alone(user, carol, monkeypatch):
    """The same client_id committed meanwhile by another process: the batch's statement fails,
    the rest is stored one by one and the clashing send answers with the winner."""
    room = make_room(user, members=[(carol, "editor")])
    winner, _ = services.message_send(room=room, by=carol, content="sent twice", client_id="race")
    start = Room.objects.get(pk=room.pk).last_seq
    from rooms.services import messages

    monkeypatch.setattr(messages, "_stored_client_ids", lambda sends: {})  # as if read before the winner committed
    outcomes = services.message_send_batch(
        room.pk,
        [
            services.ChatSend(by=user, content="before"),
            services.ChatSend(by=carol, content="sent twice", client_id="race"),
            services.ChatSend(by=user, content="after"),
        ],
    )
    assert outcomes[1] == (winner, False)
    assert [(m.content, m.seq, created) for m, created in (outcomes[0], outcomes[2])] == [
        ("before", start + 1, True),
        ("after", start + 2, True),
    ]
    assert Room.objects.get(pk=room.pk).last_seq == start + 2


def test_a_signed_out_sender_is_weeded_out_and_the_others_stored(user, carol):
    room = make_room(user, members=[(carol, "editor")])
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    outcomes = consumers._send_batch(
        room.pk, [(carol, None, {"content": "gone"}), (user, None, {"content": "still here", "client_id": "s1"})]
    )
    assert isinstance(outcomes[0], SignedOut)
    message, created = outcomes[1]
    assert created and message.content == "still here"
    assert not Message.objects.filter(content="gone").exists()


def test_the_sign_in_recheck_reads_each_senders_account_afresh(user, carol, make_user):
    """A socket's token signed out everywhere after it was issued, and a deactivated admin
    writing without a membership, are refused like a deactivated member; a REST send (just
    authenticated by its request) is not re-checked."""
    from datetime import timedelta

    from django.utils import timezone

    admin = make_user("boss", is_system_admin=True)
    gone_admin = make_user("gone_boss", is_system_admin=True)
    room = make_room(user, members=[(carol, "editor")])
    issued = timezone.now() - timedelta(minutes=5)
    type(carol).objects.filter(pk=carol.pk).update(tokens_valid_after=timezone.now())  # signed out everywhere
    type(gone_admin).objects.filter(pk=gone_admin.pk).update(is_active=False)
    outcomes = consumers._send_batch(
        room.pk,
        [
            (carol, issued.timestamp(), {"content": "old token"}),
            (carol, None, {"content": "session socket"}),
            (admin, None, {"content": "admin, no membership"}),
            (gone_admin, None, {"content": "deactivated admin"}),
        ],
    )
    assert isinstance(outcomes[0], SignedOut) and isinstance(outcomes[3], SignedOut)
    assert [outcomes[i][0].content for i in (1, 2)] == ["session socket", "admin, no membership"]
    sent, created = services.message_send(room=room, by=gone_admin, content="over REST")
    assert created and sent.content == "over REST"  # REST's own authentication already ran


def test_sends_that_arrive_while_a_batch_is_stored_go_together_as_the_next():
    """The outbox itself, with the store replaced: a lone send goes at once, the ones that
    wait behind it leave as one batch in arrival order, and a failed batch reaches each sender."""
    release = threading.Event()
    batches: list[list[str]] = []

    def store(room_id, sends):
        batches.append([frame["content"] for _user, _iat, frame in sends])
        if len(batches) == 1:
            release.wait(5)
        if any(frame["content"] == "boom" for _user, _iat, frame in sends):
            raise RuntimeError("database gone")
        return [f"stored {frame['content']}" for _user, _iat, frame in sends]

    async def scenario():
        outbox = GroupCommit(lambda room_id: sync_to_async(store, thread_sensitive=False))
        first = asyncio.ensure_future(outbox.submit(1, (None, None, {"content": "a"})))
        while not batches:
            await asyncio.sleep(0.01)
        later = [asyncio.ensure_future(outbox.submit(1, (None, None, {"content": c}))) for c in "bcd"]
        other_room = await asyncio.wait_for(outbox.submit(2, (None, None, {"content": "z"})), 5)  # not behind room 1
        await asyncio.sleep(0.05)
        release.set()
        results = await asyncio.gather(first, *later)
        failed = await outbox.submit(1, (None, None, {"content": "boom"}))
        return other_room, results, failed, outbox.keys

    other_room, results, failed, waiting = asyncio.run(scenario())
    assert other_room == "stored z"
    assert results == ["stored a", "stored b", "stored c", "stored d"]
    assert batches[0] == ["a"] and ["b", "c", "d"] in batches
    assert isinstance(failed, RuntimeError)
    assert waiting == {}
