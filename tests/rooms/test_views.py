"""Server-rendered room pages (English and zh-Hant)."""

import json

import pytest

from rooms import services
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db


def test_room_list_in_english_and_traditional_chinese(client, user, django_assert_max_num_queries):
    make_room(user, title="Line 3 stoppage", severity="critical")
    client.force_login(user)
    with django_assert_max_num_queries(8):
        html = client.get("/rooms/").content.decode()
    assert "Incident rooms" in html and "Line 3 stoppage" in html and "New room" in html
    html = client.get("/rooms/", HTTP_ACCEPT_LANGUAGE="zh-Hant").content.decode()
    assert "新增事件處理室" in html and "New room" not in html and "重大" in html


def test_room_list_filters(client, user):
    make_room(user, title="Oven fire", severity="critical")
    make_room(user, title="Conveyor jam", severity="low")
    client.force_login(user)
    html = client.get("/rooms/?severity=low").content.decode()
    assert "Conveyor jam" in html and "Oven fire" not in html


def test_room_page_renders_for_members_and_404s_for_others(client, user, other_user):
    room = make_room(user)
    client.force_login(user)
    response = client.get(f"/rooms/{room.pk}/")
    html = response.content.decode()
    assert response.status_code == 200 and 'id="composer"' in html and "rooms/room/main.js" in html
    assert 'data-can-write="1"' in html and 'id="status-form"' in html
    client.force_login(other_user)
    assert client.get(f"/rooms/{room.pk}/").status_code == 404


def test_viewer_page_has_no_composer(client, room, viewer):
    client.force_login(viewer)
    html = client.get(f"/rooms/{room.pk}/", HTTP_ACCEPT_LANGUAGE="zh-Hant").content.decode()
    assert 'id="composer"' not in html and "無法發言" in html


def test_new_room_from_template_form(client, user, carol):
    from rooms import services

    template = services.template_create(
        by=user, name="Line stop", title_pattern="{location} stoppage", members=[{"user": carol.pk, "role": "viewer"}]
    )
    client.force_login(user)
    response = client.post("/rooms/new/", {"template": template.pk, "location": "Line 4"})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Line 4 stoppage" in page


def test_seed_is_idempotent_and_has_chinese(make_user):
    from io import StringIO

    from rooms.models import Message, Room, RoomTemplate
    from rooms.seed import seed

    users = {name: make_user(name) for name in ("admin", "alice", "bob", "carol", "dave")}
    seed(users=users, stdout=StringIO())
    counts = (Room.objects.count(), Message.objects.count(), RoomTemplate.objects.count())
    seed(users=users, stdout=StringIO())
    assert (Room.objects.count(), Message.objects.count(), RoomTemplate.objects.count()) == counts
    assert counts[0] >= 2 and counts[2] >= 1
    assert Message.objects.filter(content="3號線停機,等待維修").exists()
    assert Room.objects.filter(status="resolved").exists()


def test_room_js_strings_are_in_the_zh_hant_js_catalog(client):
    client.cookies["django_language"] = "zh-hant"
    js = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="zh-Hant").content.decode()
    assert "\\u6b63\\u5728\\u8f38\\u5165" in js or "正在輸入" in js  # "%s is typing…"


def test_room_page_hands_the_server_limits_to_its_script(client, user, settings):
    # room/context.js reads these instead of keeping its own copy of the server's rules.
    settings.ROOM_EDIT_WINDOW_SECONDS = 90
    room = make_room(user)
    client.force_login(user)
    html = client.get(f"/rooms/{room.pk}/").content.decode()
    start = html.index('<script id="room-limits" type="application/json">')
    limits = json.loads(html[html.index(">", start) + 1 : html.index("</script>", start)])
    assert limits == {"edit_window_seconds": 90, "text_max_bytes": services.TEXT_MAX_BYTES}
