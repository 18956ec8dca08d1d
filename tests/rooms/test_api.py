"""REST contract of incident rooms."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rooms.models import Message, MessageEditHistory, Reaction, Room
from tests.rooms.factories import make_room, send

pytestmark = pytest.mark.django_db


def err(response):
    return response.json()["error"]["code"]


def test_create_room_makes_creator_owner_and_posts_system_message(api, user):
    r = api.post("/api/rooms/", {"title": "Press 7 hydraulic leak", "severity": "high", "location": "Line 7"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["my_role"] == "owner" and body["version"] == 1 and body["severity"] == "high"
    msgs = api.get(f"/api/rooms/{body['id']}/messages/").json()["results"]
    assert [m["message_type"] for m in msgs] == ["system"] and msgs[0]["seq"] == 1


def test_room_list_filters_and_pagination(api, user, make_user, django_assert_max_num_queries):
    stranger = make_user("stranger")
    make_room(user, title="Oven fire", severity="critical")
    make_room(user, title="Conveyor jam", severity="low", location="Line 2")
    make_room(stranger, title="Not mine")
    with django_assert_max_num_queries(6):
        r = api.get("/api/rooms/")
    titles = [x["title"] for x in r.json()["results"]]
    assert sorted(titles) == ["Conveyor jam", "Oven fire"]
    assert [x["title"] for x in api.get("/api/rooms/?severity=critical").json()["results"]] == ["Oven fire"]
    assert [x["title"] for x in api.get("/api/rooms/?q=line 2").json()["results"]] == ["Conveyor jam"]
    assert api.get("/api/rooms/?status=archived").json()["count"] == 0
    assert api.get("/api/rooms/?page=1&page_size=1").json()["count"] == 2


def test_non_member_gets_404_everywhere(api_for, room, other_user):
    api = api_for(other_user)
    assert api.get(f"/api/rooms/{room.pk}/").status_code == 404
    assert api.get(f"/api/rooms/{room.pk}/messages/").status_code == 404
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "hi"})
    assert r.status_code == 404 and err(r) == "not_found"
    assert Message.objects.filter(room=room).count() == 1  # only the opening system message


def test_anonymous_gets_401(anon_api, room):
    assert anon_api.get(f"/api/rooms/{room.pk}/messages/").status_code == 401


def test_post_and_page_messages_by_seq(api, room, django_assert_max_num_queries):
    for i in range(5):
        r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": f"m{i}", "message_type": "text"})
        assert r.status_code == 201
    with django_assert_max_num_queries(6):
        page = api.get(f"/api/rooms/{room.pk}/messages/?after_seq=2&limit=2").json()["results"]
    assert [m["seq"] for m in page] == [3, 4]
    back = api.get(f"/api/rooms/{room.pk}/messages/?before_seq=5&limit=2").json()["results"]
    assert [m["seq"] for m in back] == [3, 4]
    assert api.get(f"/api/rooms/{room.pk}/messages/?limit=9999").status_code == 400


def test_same_client_id_twice_stores_one_message(api, room):
    first = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "once", "client_id": "c-1"})
    again = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "once", "client_id": "c-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["seq"] == first.json()["seq"]
    assert Message.objects.filter(room=room, client_id="c-1").count() == 1


@pytest.mark.parametrize(
    "body,status,code",
    [
        ({"content": "x" * (10 * 1024 + 1)}, 413, "payload_too_large"),
        ({"content": "好" * 3500}, 413, "payload_too_large"),  # 10.5 KB of UTF-8 in 3500 characters
        (
            {"content": "data", "message_type": "incident_data", "metadata": {"incident": {"x": "y" * 102_400}}},
            413,
            "payload_too_large",
        ),
        ({"content": " \n\t "}, 400, "validation_error"),
        ({"content": "nul\x00byte"}, 400, "validation_error"),
        ({"content": "hi", "message_type": "system"}, 400, "validation_error"),
        ({"content": "hi", "message_type": "bogus"}, 400, "validation_error"),
        ({"content": 42}, 400, "validation_error"),
        ({"content": "hi", "metadata": "not an object"}, 400, "validation_error"),
        ({"content": "hi", "message_type": "image_ref", "metadata": {"file_id": 999}}, 400, "validation_error"),
        ({"content": "hi", "client_id": "x" * 65}, 400, "validation_error"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(api, room, body, status, code):
    before = Message.objects.count()
    r = api.post(f"/api/rooms/{room.pk}/messages/", body, format="json")
    assert r.status_code == status and err(r) == code, r.content
    assert Message.objects.count() == before


def test_malformed_json_body_is_400(api, room):
    r = api.post(f"/api/rooms/{room.pk}/messages/", "{not json", content_type="application/json")
    assert r.status_code == 400 and err(r) == "validation_error"


def test_text_is_stored_as_typed_and_rendered_safely(api, room):
    source = "ok <b>bold</b><img src=x onerror=alert(1)><script>x</script> <tag>"
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": source})
    assert r.status_code == 201
    assert Message.objects.get(pk=r.json()["id"]).content == source
    html = r.json()["html"]
    assert "&lt;tag&gt;" in html and "&lt;script&gt;" in html
    assert "<script" not in html and "<img" not in html and "<b>" not in html


def test_chat_rate_limit_10_per_second(api, room, settings):
    settings.RATELIMIT_CHAT = "10/d"  # same rule; a window a slow test run cannot straddle
    codes = [api.post(f"/api/rooms/{room.pk}/messages/", {"content": f"n{i}"}).status_code for i in range(11)]
    assert codes[:10] == [201] * 10
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "one too many"})
    assert r.status_code == 429 and err(r) == "rate_limited" and int(r["Retry-After"]) >= 1
    assert not Message.objects.filter(content="one too many").exists()


def test_viewer_reads_but_cannot_write(api_for, room, viewer):
    api = api_for(viewer)
    assert api.get(f"/api/rooms/{room.pk}/messages/").status_code == 200
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "hi"})
    assert r.status_code == 403 and err(r) == "permission_denied"


def test_mentions_are_validated_stored_and_notified(api, room, carol, other_user, monkeypatch):
    sent = []
    monkeypatch.setattr("rooms.services.messages.notify", lambda **kw: sent.append(kw))
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "@carol please check, @olga too, @nobody"})
    assert r.status_code == 201
    assert r.json()["metadata"]["mentions"] == [{"id": carol.pk, "username": "carol"}]
    assert [(n["type"], [u.pk for u in n["recipients"]]) for n in sent] == [("mention", [carol.pk])]


def test_adding_a_member_notifies_room_invite(api, room, make_user, monkeypatch):
    sent = []
    monkeypatch.setattr("rooms.services.members.notify", lambda **kw: sent.append(kw))
    dave = make_user("dave")
    r = api.post(f"/api/rooms/{room.pk}/members/", {"user": dave.pk, "role": "viewer"})
    assert r.status_code == 201 and r.json()["role"] == "viewer"
    assert sent[0]["type"] == "room_invite" and sent[0]["recipients"] == [dave]
    roles = {m["user"]["username"]: m["role"] for m in api.get(f"/api/rooms/{room.pk}/members/").json()}
    assert roles["dave"] == "viewer" and roles["bob"] == "owner"


def test_only_owner_manages_members(api_for, room, carol, make_user):
    r = api_for(carol).post(f"/api/rooms/{room.pk}/members/", {"username": "vera", "role": "owner"})
    assert r.status_code == 403


def test_edit_within_window_keeps_history(api, room):
    m = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "pressure 5 bar"}).json()
    r = api.patch(f"/api/messages/{m['id']}/", {"content": "pressure 6 bar", "version": m["version"]})
    assert r.status_code == 200 and r.json()["edited_at"] and r.json()["version"] == m["version"] + 1
    r2 = api.patch(f"/api/messages/{m['id']}/", {"content": "pressure 7 bar", "version": m["version"] + 1})
    assert r2.status_code == 200
    history = api.get(f"/api/messages/{m['id']}/history/").json()
    assert [h["content"] for h in history] == ["pressure 5 bar", "pressure 6 bar"]
    assert history[0]["edited_by"]["username"] == "bob"


def test_edit_needs_version_and_detects_conflict(api, room):
    m = api.post(f"/api/rooms/{room.pk}/messages/", {"content": "a"}).json()
    assert err(api.patch(f"/api/messages/{m['id']}/", {"content": "b"})) == "validation_error"
    api.patch(f"/api/messages/{m['id']}/", {"content": "b", "version": 1})
    r = api.patch(f"/api/messages/{m['id']}/", {"content": "c", "version": 1})
    assert r.status_code == 409 and r.json()["error"]["details"]["current"]["content"] == "b"


def test_edit_after_15_minutes_is_refused(api, room, user):
    m = send(room, user, "old news")
    Message.objects.filter(pk=m.pk).update(created_at=timezone.now() - timedelta(minutes=15, seconds=1))
    r = api.patch(f"/api/messages/{m.pk}/", {"content": "rewrite", "version": 1})
    assert r.status_code == 403 and err(r) == "edit_window_closed"
    assert Message.objects.get(pk=m.pk).content == "old news"
    assert not MessageEditHistory.objects.filter(message=m).exists()


def test_cannot_edit_someone_elses_message(api_for, room, user, carol):
    m = send(room, user, "mine")
    r = api_for(carol).patch(f"/api/messages/{m.pk}/", {"content": "yours", "version": 1})
    assert r.status_code == 403


def test_soft_delete_hides_from_history_and_search(api, room, user):
    keep = send(room, user, "pump vibration normal")
    gone = send(room, user, "pump vibration secret")
    assert api.delete(f"/api/messages/{gone.pk}/").status_code == 204
    assert Message.objects.get(pk=gone.pk).deleted_at is not None  # soft
    seqs = [m["seq"] for m in api.get(f"/api/rooms/{room.pk}/messages/").json()["results"]]
    assert keep.seq in seqs and gone.seq not in seqs
    found = [m["id"] for m in api.get(f"/api/rooms/{room.pk}/messages/search/?q=vibration").json()["results"]]
    assert found == [keep.pk]
    assert api.get(f"/api/messages/{gone.pk}/history/").status_code == 404
    assert api.delete(f"/api/messages/{gone.pk}/").status_code == 404


def test_reactions_are_unique_per_user_and_emoji(api, api_for, room, user, carol):
    m = send(room, user, "done")
    assert api.post(f"/api/messages/{m.pk}/reactions/", {"emoji": "👍"}).status_code == 201
    assert api.post(f"/api/messages/{m.pk}/reactions/", {"emoji": "👍"}).status_code == 200
    assert api_for(carol).post(f"/api/messages/{m.pk}/reactions/", {"emoji": "👍"}).status_code == 201
    assert Reaction.objects.filter(message=m).count() == 2
    body = api.get(f"/api/rooms/{room.pk}/messages/").json()["results"][-1]
    assert body["reactions"] == [{"emoji": "👍", "count": 2, "users": [user.pk, carol.pk]}]
    assert api.delete(f"/api/messages/{m.pk}/reactions/👍/").status_code == 204
    assert api.delete(f"/api/messages/{m.pk}/reactions/👍/").status_code == 404
    assert Reaction.objects.filter(message=m).count() == 1
    assert api.post(f"/api/messages/{m.pk}/reactions/", {"emoji": "<b>"}).status_code == 400


def test_status_change_posts_system_message_and_archive_is_read_only(api, room):
    r = api.patch(f"/api/rooms/{room.pk}/", {"status": "resolved", "version": room.version})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    last = api.get(f"/api/rooms/{room.pk}/messages/").json()["results"][-1]
    assert last["message_type"] == "system" and last["metadata"]["status"] == {"from": "active", "to": "resolved"}
    assert api.post(f"/api/rooms/{room.pk}/messages/", {"content": "still talking"}).status_code == 201
    r = api.patch(f"/api/rooms/{room.pk}/", {"status": "archived", "version": r.json()["version"]})
    assert r.status_code == 200
    assert api.post(f"/api/rooms/{room.pk}/messages/", {"content": "too late"}).status_code == 403
    assert api.get(f"/api/rooms/{room.pk}/messages/").status_code == 200
    assert Room.objects.get(pk=room.pk).status == "archived"


def test_room_patch_version_conflict(api, room):
    assert api.patch(f"/api/rooms/{room.pk}/", {"title": "A", "version": 1}).status_code == 200
    r = api.patch(f"/api/rooms/{room.pk}/", {"title": "B", "version": 1})
    assert r.status_code == 409 and r.json()["error"]["details"]["current"]["title"] == "A"


def test_template_opens_a_room_in_one_step(api, user, carol):
    t = api.post(
        "/api/room-templates/",
        {
            "name": "Line stop",
            "title_pattern": "{location} stoppage",
            "severity": "high",
            "members": [{"user": carol.pk, "role": "editor"}],
        },
        format="json",
    )
    assert t.status_code == 201, t.content
    r = api.post(f"/api/room-templates/{t.json()['id']}/open/", {"location": "Line 3"})
    assert r.status_code == 201 and r.json()["title"] == "Line 3 stoppage" and r.json()["severity"] == "high"
    roles = {m["user"]["username"]: m["role"] for m in api.get(f"/api/rooms/{r.json()['id']}/members/").json()}
    assert roles == {"bob": "owner", "carol": "editor"}
    r2 = api.post("/api/rooms/", {"template": t.json()["id"], "location": "Line 9"})
    assert r2.status_code == 201 and r2.json()["title"] == "Line 9 stoppage"


@pytest.mark.parametrize("pattern", ["{location.upper}", "{location[0]}", "{location!r}", "{date:>40}", "{who}", "{"])
def test_template_title_patterns_take_only_location_and_date(api, pattern):
    r = api.post("/api/room-templates/", {"name": "Bad", "title_pattern": pattern}, format="json")
    assert r.status_code == 400 and "title_pattern" in r.json()["error"]["details"]


def test_a_pattern_stored_before_the_check_opens_literally(api, user):
    from rooms.models import RoomTemplate

    old = RoomTemplate.objects.create(name="Old", title_pattern="{location.foo} stop", created_by=user)
    r = api.post(f"/api/room-templates/{old.pk}/open/", {"location": "Line 3"})
    assert r.status_code == 201 and r.json()["title"] == "{location.foo} stop"
    ok = api.post("/api/room-templates/", {"name": "Ok", "title_pattern": "{{{location}}} {date}"}, format="json")
    assert ok.status_code == 201, ok.content
    opened = api.post(f"/api/room-templates/{ok.json()['id']}/open/", {"location": "L4"}).json()
    assert opened["title"].startswith("{L4} 20")


def test_search_on_sqlite_or_postgres_finds_chinese(api, room, user):
    send(room, user, "3號線停機,等待維修")
    send(room, user, "2號線正常")
    results = api.get(f"/api/rooms/{room.pk}/messages/search/", {"q": "停機"}).json()["results"]
    assert [m["content"] for m in results] == ["3號線停機,等待維修"]


def test_room_links_to_a_visible_task_only(api, user, make_user):
    from tests.tasks.factories import TaskFactory, make_project

    mine = TaskFactory(project=make_project(user))
    stranger = make_user("stranger")
    hidden = TaskFactory(project=make_project(stranger))
    r = api.post("/api/rooms/", {"title": "Mixer 2 seal leak", "task": mine.pk})
    assert r.status_code == 201 and r.json()["task"] == mine.pk
    r2 = api.post("/api/rooms/", {"title": "Not allowed", "task": hidden.pk})
    assert r2.status_code == 400 and r2.json()["error"]["details"] == {"task": ["No such task."]}
    room = r.json()
    r3 = api.patch(f"/api/rooms/{room['id']}/", {"task": None, "version": room["version"]}, format="json")
    assert r3.status_code == 200 and r3.json()["task"] is None


def test_mention_and_invite_create_real_notifications(api, room, carol, make_user):
    from notifications.models import Notification

    api.post(f"/api/rooms/{room.pk}/messages/", {"content": "@carol can you check valve 4?"})
    dave = make_user("dave")
    api.post(f"/api/rooms/{room.pk}/members/", {"user": dave.pk, "role": "editor"})
    assert Notification.objects.filter(recipient=carol, type="mention").count() == 1
    assert Notification.objects.filter(recipient=dave, type="room_invite").count() == 1
