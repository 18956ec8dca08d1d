"""Search on PostgreSQL (full-text + trigram indexes), events after commit, seq properties."""

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms import services
from rooms.models import Message, Room
from tests.rooms.factories import make_room, send

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_postgres_search_indexes_and_zh_hant(postgres, api, room, user):
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'rooms_message'")
        names = {row[0] for row in cur.fetchall()}
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cur.fetchone() is not None
    assert {"rooms_message_fts", "rooms_message_trgm"} <= names
    send(room, user, "3號線停機,等待維修")
    send(room, user, "Hydraulic pump replaced on press P-7")
    gone = send(room, user, "停機 again, please ignore")
    services.message_delete(message=Message.objects.select_related("room").get(pk=gone.pk), by=user)
    found = api.get(f"/api/rooms/{room.pk}/messages/search/", {"q": "停機"}).json()["results"]
    assert [m["content"] for m in found] == ["3號線停機,等待維修"]
    words = api.get(f"/api/rooms/{room.pk}/messages/search/", {"q": "pump press"}).json()["results"]
    assert [m["content"] for m in words] == ["Hydraulic pump replaced on press P-7"]


@pytest.mark.postgres
def test_trigram_index_serves_the_cjk_match(postgres, room):
    with connection.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN SELECT id FROM rooms_message WHERE UPPER(content::text) LIKE UPPER(%s)", ["%3號線停機%"])
        plan = "\n".join(row[0] for row in cur.fetchall())
        cur.execute("SET enable_seqscan = on")
    assert "rooms_message_trgm" in plan


def test_search_needs_a_term_and_respects_membership(api, api_for, room, other_user):
    assert api.get(f"/api/rooms/{room.pk}/messages/search/").status_code == 400
    assert api_for(other_user).get(f"/api/rooms/{room.pk}/messages/search/", {"q": "x"}).status_code == 404


def test_events_go_out_only_after_commit(room, user, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("contorl.events.send_now", lambda group, text, **kw: sent.append((group, text)))
    monkeypatch.setattr(
        "contorl.events._send_many", lambda batch: sent.extend((group, m["text"]) for group, m, _at in batch)
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send(room, user, "held until commit")
    assert sent == [] and callbacks
    for callback in callbacks:
        callback()
    assert any('"seq": 2' in text and f"room.{room.pk}" == group for group, text in sent)


def test_dashboard_card_lists_active_rooms(client, user):
    make_room(user, title="Boiler 1 alarm")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "Active incident rooms" in html and "Boiler 1 alarm" in html


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=15))
def test_seqs_stay_dense_per_room_whatever_commits_or_rolls_back(user, settings_rl, plan):
    """Any interleaving of sends over three rooms, some rolled back: each room's seqs are 1..n."""
    rooms = [make_room(user, title=f"R{i}") for i in range(3)]
    for index, commit in plan:
        try:
            with transaction.atomic():
                send(rooms[index], user, "x")
                if not commit:
                    raise RuntimeError("roll back")
        except RuntimeError:
            pass
    for r in rooms:
        seqs = list(Message.objects.filter(room=r).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
        assert Room.objects.get(pk=r.pk).last_seq == len(seqs)
    Room.objects.filter(pk__in=[r.pk for r in rooms]).delete()


@pytest.fixture
def settings_rl(settings):
    settings.RATELIMIT_ENABLE = False
    return settings
