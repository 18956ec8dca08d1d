"""Per-room sequence numbers: no gaps, no duplicates, under real concurrency."""

import threading

import pytest
from django.db import connection, transaction

from rooms import services
from rooms.models import Message, Room
from tests.rooms.factories import make_room, send


@pytest.mark.django_db
def test_rollback_leaves_no_gap(room, user):
    first = send(room, user, "one")
    with pytest.raises(RuntimeError), transaction.atomic():
        send(room, user, "doomed")
        raise RuntimeError("abort")
    after = send(room, user, "two")
    assert after.seq == first.seq + 1
    assert Room.objects.get(pk=room.pk).last_seq == after.seq


@pytest.mark.django_db
def test_seq_is_per_room(user):
    a, b = make_room(user, title="A"), make_room(user, title="B")
    assert [send(a, user, "x").seq, send(b, user, "y").seq, send(a, user, "z").seq] == [2, 2, 3]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_50_concurrent_writers_get_exactly_1_to_n(postgres, make_user, settings, monkeypatch):
    settings.RATELIMIT_ENABLE = False  # this measures ordering, not the chat budget
    from rooms.models import RoomMember

    owner = make_user("owner50")
    writers = [make_user(f"w{i:02d}") for i in range(50)]
    room = make_room(owner)
    RoomMember.objects.bulk_create([RoomMember(room=room, user=w, role="editor") for w in writers])
    handed = recording_hand_overs(monkeypatch, room.pk)
    per_writer = 3
    start = threading.Barrier(len(writers))
    errors: list[BaseException] = []

    def write(user):
        try:
            start.wait()
            for i in range(per_writer):
                services.message_send(room=room, by=user, content=f"{user.username}-{i}", client_id=f"{user.pk}-{i}")
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    seqs = list(Message.objects.filter(room=room).order_by("seq").values_list("seq", flat=True))
    total = 1 + len(writers) * per_writer  # + the opening system message
    assert seqs == list(range(1, total + 1))
    assert Room.objects.get(pk=room.pk).last_seq == total
    assert handed == list(range(2, total + 1))  # and their frames left this process in that order
    # Each writer's own messages are in the order it sent them.
    for w in writers[:5]:
        mine = list(Message.objects.filter(room=room, sender=w).order_by("seq").values_list("content", flat=True))
        assert mine == [f"{w.username}-{i}" for i in range(per_writer)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_same_client_id_raced_from_threads_stores_one(postgres, make_user, settings):
    settings.RATELIMIT_ENABLE = False
    owner = make_user("racer")
    room = make_room(owner)
    barrier = threading.Barrier(8)
    results = []

    def go():
        try:
            barrier.wait()
            results.append(services.message_send(room=room, by=owner, content="dup", client_id="same"))
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 8
    assert len({m.pk for m, _created in results}) == 1
    assert sum(created for _m, created in results) == 1
    assert Message.objects.filter(room=room, client_id="same").count() == 1
    assert Room.objects.get(pk=room.pk).last_seq == 2  # no seq burned by the losers


def recording_hand_overs(monkeypatch, room_id: int, hold=None) -> list[int]:
    """The seqs of the room's message frames, in the order this process hands them to the
    layer. `hold(seq)` runs in the publishing thread just before that seq's hand-over."""
    from contorl import events

    group = events.room_group(room_id)
    handed: list[int] = []
    lock = threading.Lock()
    real = events._hand_over

    def hand_over(messages):
        for to, message in messages:
            if to == group and "seq" in message:
                if hold is not None:
                    hold(message["seq"])
                with lock:
                    handed.append(message["seq"])
        real(messages)

    monkeypatch.setattr(events, "_hand_over", hand_over)
    return handed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rest_send_and_a_socket_batch_leave_the_process_in_seq_order(postgres, user, carol, monkeypatch):
    """A REST send commits seq n and is slow to hand its frame over; a socket batch for the
    same room, stored meanwhile by a send thread, gets n+1. Its frame must not leave first:
    the REST send holds the room's seq-order lock until its frame is out, so the batch waits
    for it (without the lock, the batch's frame overtook it every time)."""
    from rooms.consumers import _send_batch

    room = make_room(user, members=[(carol, "editor")])
    opening = Room.objects.get(pk=room.pk).last_seq
    rest_handing_over = threading.Event()
    socket_handed_over = threading.Event()

    def hold(seq):
        if seq == opening + 1:  # the REST send, committed: let the socket batch run now
            rest_handing_over.set()
            # Only a broken order lets the batch's frame out within this wait; in order, the
            # batch is still waiting for the lock when it ends.
            socket_handed_over.wait(1.0)
        else:
            socket_handed_over.set()

    handed = recording_hand_overs(monkeypatch, room.pk, hold)
    outcomes: dict[str, object] = {}

    def rest_send():
        try:
            outcomes["rest"] = services.message_send(room=room, by=user, content="line 3 stopped")
        finally:
            connection.close()

    def socket_batch():
        try:
            rest_handing_over.wait(10)
            outcomes["socket"] = _send_batch(room.pk, [(carol, None, {"content": "on it"})])[0]
        finally:
            connection.close()

    threads = [threading.Thread(target=rest_send), threading.Thread(target=socket_batch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert [message.seq for message, _created in (outcomes["rest"], outcomes["socket"])] == [opening + 1, opening + 2]
    assert handed == [opening + 1, opening + 2]
