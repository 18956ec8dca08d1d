"""The chat send path's database trips are pinned: a send is the hottest write there is."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now as django_now

from rooms import services
from rooms.consumers import _send_batch
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db(transaction=True)

# What one send costs, by database, BEGIN and COMMIT included: the senders' memberships with
# the room and their accounts (the sign-in re-check) in one read, the client_id lookup, then
# the write (PostgreSQL allocates the seq and inserts the row in one statement; SQLite needs
# two). A batch of sends waiting for one room costs the same: every step reads or writes the
# whole batch at once.
SEND_QUERIES = {"postgresql": 5, "sqlite": 6}


def test_a_send_makes_a_fixed_number_of_queries(user, carol):
    room = make_room(user, members=[(carol, "editor")])
    first, _ = services.message_send(room=room, by=carol, content="warm-up", client_id="w")
    with CaptureQueriesContext(connection) as sent:
        [(message, created)] = _send_batch(room.pk, [(carol, None, {"content": "pump 3 tripped", "client_id": "c1"})])
    assert created and message.seq == first.seq + 1
    assert len(sent.captured_queries) == SEND_QUERIES[connection.vendor]


def test_a_batch_of_sends_makes_the_queries_of_one(user, make_user):
    writers = [make_user(f"writer{i}") for i in range(5)]
    room = make_room(user, members=[(w, "editor") for w in writers])
    services.message_send(room=room, by=user, content="warm-up", client_id="w")
    batch = [(w, None, {"content": f"pump {i}", "client_id": f"c{i}"}) for i, w in enumerate(writers)]
    with CaptureQueriesContext(connection) as sent:
        outcomes = _send_batch(room.pk, batch)
    assert [created for _message, created in outcomes] == [True] * 5
    assert len(sent.captured_queries) == SEND_QUERIES[connection.vendor]


def test_a_token_socket_signs_in_and_is_admitted_in_one_query(user, carol, make_user, django_assert_num_queries):
    """The token's account, its membership and the room's last seq come in one read; only a
    socket without a membership costs more (its account, and an admin's room)."""
    import time

    from rooms.consumers import CLOSE_NOT_FOUND, CLOSE_UNAUTHENTICATED, _admissions

    room = make_room(user, members=[(carol, "viewer")])
    sent, _ = services.message_send(room=room, by=user, content="line 2 stopped", client_id="a")
    now = time.time()
    with django_assert_num_queries(1):
        [(account, code, last_seq)] = _admissions(None, [(room.pk, carol.pk, now, None)])
    assert (account.pk, code, last_seq) == (carol.pk, None, sent.seq)
    with django_assert_num_queries(1):  # a session's account is the one the session gave
        assert _admissions(None, [(room.pk, carol.pk, None, carol)]) == [(carol, None, sent.seq)]
    outsider = make_user(username="outsider")
    with django_assert_num_queries(2):
        [(account, code, _seq)] = _admissions(None, [(room.pk, outsider.pk, now, None)])
    assert (account.pk, code) == (outsider.pk, CLOSE_NOT_FOUND)
    with django_assert_num_queries(2):  # a missing room looks the same as a hidden one
        [(_account, code, _seq)] = _admissions(None, [(room.pk + 1000, carol.pk, now, None)])
    assert code == CLOSE_NOT_FOUND
    admin = make_user(username="boss", is_system_admin=True)
    with django_assert_num_queries(3):  # admins act as owners without a membership: the room's own row
        [(account, code, last_seq)] = _admissions(None, [(room.pk, admin.pk, now, None)])
    assert (account.pk, code, last_seq) == (admin.pk, None, sent.seq)
    type(carol).objects.filter(pk=carol.pk).update(tokens_valid_after=django_now())
    with django_assert_num_queries(1):  # a token from before a sign-out everywhere: 4401 from the same read
        assert _admissions(None, [(room.pk, carol.pk, now - 60, None)]) == [(None, CLOSE_UNAUTHENTICATED, 0)]
    type(carol).objects.filter(pk=carol.pk).update(is_active=False)
    assert _admissions(None, [(room.pk, carol.pk, now + 60, None)]) == [(None, CLOSE_UNAUTHENTICATED, 0)]
    assert _admissions(None, [(room.pk, 10**9, now, None)]) == [(None, CLOSE_UNAUTHENTICATED, 0)]


def test_a_resume_reads_the_room_and_the_role_in_one_query(user, carol, make_user, django_assert_num_queries):
    from rooms.consumers import _replay

    room = make_room(user, members=[(carol, "viewer")])
    sent, _ = services.message_send(room=room, by=user, content="line 2 stopped", client_id="a")
    outsider = make_user(username="outsider")
    batch, latest = _replay(room.pk, carol, sent.seq - 1)
    assert [m["seq"] for m in batch] == [sent.seq] and latest == sent.seq
    with django_assert_num_queries(1):  # a client that missed nothing: no message read
        assert _replay(room.pk, carol, sent.seq) == ([], sent.seq)
    assert _replay(room.pk, outsider, 0) == ([], -1)


def test_a_resume_checks_sign_in_in_its_own_read(user, carol, django_assert_num_queries):
    """The resume frame's sign-in re-check rides on the resume's read: a token issued before
    a sign-out everywhere, or a deactivated account, is refused without a query of its own."""
    import time

    from contorl.accounts.tokens import SignedOut
    from rooms.consumers import _replays

    room = make_room(user, members=[(carol, "viewer")])
    sent, _ = services.message_send(room=room, by=user, content="line 2 stopped", client_id="a")
    before = time.time() - 60
    type(carol).objects.filter(pk=carol.pk).update(tokens_valid_after=django_now())
    with django_assert_num_queries(1):
        stale, fresh, session = _replays(
            None,
            [
                (room.pk, carol, sent.seq, before),
                (room.pk, carol, sent.seq, time.time() + 1),
                (room.pk, user, sent.seq, None),
            ],
        )
    assert isinstance(stale, SignedOut)
    assert fresh == ([], sent.seq) and session[1] == sent.seq
    type(carol).objects.filter(pk=carol.pk).update(is_active=False)
    assert isinstance(_replays(None, [(room.pk, carol, sent.seq, None)])[0], SignedOut)


def test_admissions_and_resumes_of_many_sockets_read_once(user, carol, make_user, django_assert_num_queries):
    from rooms.consumers import CLOSE_NOT_FOUND, _admissions, _replays

    readers = [make_user(f"reader{i}") for i in range(6)]
    rooms = [make_room(user, members=[(carol, "viewer"), *[(r, "viewer") for r in readers]]) for _ in range(3)]
    seqs = [services.message_send(room=r, by=user, content="warm-up", client_id=f"w{r.pk}")[0].seq for r in rooms]
    outsider = make_user(username="outsider")
    sockets = [(r.pk, reader.pk, None, None) for r in rooms for reader in readers]
    with django_assert_num_queries(1):  # 18 sockets, 3 rooms: one read
        outcomes = _admissions(None, sockets)
    assert [(account.pk, code, seq) for account, code, seq in outcomes] == [
        (reader.pk, None, seq) for seq in seqs for reader in readers
    ]
    assert len({id(account) for account, _code, _seq in outcomes}) == 18  # each socket its own account object
    twice = _admissions(None, [sockets[0], sockets[0], (rooms[1].pk, readers[0].pk, None, None)])
    assert len({id(account) for account, _code, _seq in twice}) == 3  # the same account twice: two objects
    with django_assert_num_queries(2):  # sockets without a membership: their accounts in one more read
        outcomes = _admissions(None, [*sockets, (rooms[0].pk, outsider.pk, None, None), (10**6, carol.pk, None, None)])
    assert [code for _account, code, _seq in outcomes] == [None] * 18 + [CLOSE_NOT_FOUND] * 2
    admin = make_user(username="boss", is_system_admin=True)
    with django_assert_num_queries(3):  # an admin without a membership: the room's own row
        outcomes = _admissions(None, [(rooms[1].pk, admin.pk, None, None), (rooms[1].pk, carol.pk, None, None)])
    assert [(code, seq) for _account, code, seq in outcomes] == [(None, seqs[1])] * 2
    resumes = [(r.pk, carol, seq, None) for r, seq in zip(rooms, seqs, strict=True)]
    with django_assert_num_queries(1):  # nobody missed anything: no message read; sign-in in the same read
        assert _replays(None, resumes) == [([], seq) for seq in seqs]
    with django_assert_num_queries(2):  # someone without a membership: one more read for the sign-in
        assert _replays(None, [*resumes, (rooms[0].pk, outsider, 0, None)]) == [([], seq) for seq in seqs] + [([], -1)]
    replayed = _replays(None, [(rooms[0].pk, carol, seqs[0] - 1, None), (rooms[1].pk, carol, seqs[1], None)])
    assert [[m["seq"] for m in batch] for batch, _latest in replayed] == [[seqs[0]], []]


def test_mentions_in_a_batch_read_the_members_once(user, make_user):
    writers = [make_user(f"writer{i}") for i in range(5)]
    room = make_room(user, members=[(w, "editor") for w in writers])

    def member_reads(batch) -> int:
        with CaptureQueriesContext(connection) as sent:
            outcomes = _send_batch(room.pk, batch)
        assert all(created for _message, created in outcomes)
        return sum('FROM "rooms_roommember"' in q["sql"] for q in sent.captured_queries)

    one = member_reads([(writers[0], None, {"content": f"@{user.username} pump 1", "client_id": "m0"})])
    five = member_reads(
        [(w, None, {"content": f"@{user.username} pump {i}", "client_id": f"m{i + 1}"}) for i, w in enumerate(writers)]
    )
    assert one == five == 2  # the writers' roles, then the members named: once for the whole batch


def test_the_socket_paths_lookups_sort_nothing(user, carol):
    """Sends, sign-in re-checks and admissions look rows up by id: a model's default order
    (members by username, messages by seq) would make Django match ORDER BY terms against
    every selected column, and joined the users table just to sort memberships."""
    from contorl.accounts.tokens import signed_in_many
    from contorl.consumers import _accounts_signed_in
    from rooms.consumers import _admissions, _replays

    room = make_room(user, members=[(carol, "editor")])
    services.message_send(room=room, by=carol, content="warm-up", client_id="w")
    with CaptureQueriesContext(connection) as ran:
        _send_batch(room.pk, [(carol, None, {"content": "belt 2 slipping", "client_id": "c1"})])
        signed_in_many([(carol.pk, None)])
        _admissions(None, [(room.pk, carol.pk, None, None)])
        _replays(None, [(room.pk, carol, 10**6, None)])
        _accounts_signed_in(None, [(carol.pk, None)])
    sorted_queries = [q["sql"] for q in ran.captured_queries if "ORDER BY" in q["sql"]]
    assert sorted_queries == []


def test_a_warm_send_compiles_no_sql(user, carol, make_user, monkeypatch):
    """The send path's reads are prepared lookups (contorl.prepared), one per batch shape, and
    its write is one fixed statement: once a shape has been seen, a send compiles nothing."""
    from django.db.models.sql.compiler import SQLCompiler

    dora = make_user("dora")
    room = make_room(user, members=[(carol, "editor"), (dora, "editor")])
    _send_batch(room.pk, [(carol, None, {"content": "warm", "client_id": "w1"})])
    _send_batch(
        room.pk,
        [(carol, None, {"content": "warm", "client_id": "w2"}), (dora, None, {"content": "w", "client_id": "w3"})],
    )
    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **kw: compiled.append(self) or original(self, *a, **kw))
    [(one, created)] = _send_batch(room.pk, [(dora, None, {"content": "valve 2 open", "client_id": "d1"})])
    two = _send_batch(
        room.pk,
        [(carol, None, {"content": "ack", "client_id": "c1"}), (dora, None, {"content": "ok", "client_id": "d2"})],
    )
    assert compiled == []
    assert created and [m.seq for m, _created in two] == [one.seq + 1, one.seq + 2]
    # a retried client_id still finds its original through the prepared read
    [(again, created_again)] = _send_batch(room.pk, [(dora, None, {"content": "valve 2 open", "client_id": "d1"})])
    assert (again.pk, created_again) == (one.pk, False)
