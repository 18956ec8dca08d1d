"""The incident room as a person meets it (issue #15): 1280x800 Chromium, English and zh-Hant."""

import re
import subprocess

import httpx
import pytest

from tests.browser.conftest import readme_shot
from tests.rooms.live import PY, ROOT, new_room, server_env, token
from tests.rooms.test_browser import SHOTS, browser, chromium, sign_in  # noqa: F401 (the browser fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def seed(server, room_id: int, rows: list[tuple[str, str]]) -> None:
    """Store many messages at once through the service (the chat rate limit is not the subject)."""
    code = (
        "from django.conf import settings; settings.RATELIMIT_CHAT = '100000/s'\n"
        "from django.contrib.auth import get_user_model\n"
        "from rooms.models import Room\nfrom rooms import services\nimport json, sys\n"
        f"room = Room.objects.get(pk={room_id})\n"
        "users = {u.username: u for u in get_user_model().objects.all()}\n"
        f"for who, text in json.loads({_json(rows)!r}):\n"
        "    services.message_send(room=room, by=users[who], content=text)\n"
    )
    subprocess.run(  # noqa: S603
        [PY, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=server_env(server.workdir),
        check=True,
        capture_output=True,
        timeout=120,
    )


def _json(rows) -> str:
    import json

    return json.dumps(rows)


def api_as(server, username: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token(server, username)}"}, timeout=10)


def open_room(page, server, room_id: int, suffix: str = "") -> None:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/rooms/{room_id}/{suffix}")
    expect(page.locator("#live-status")).to_have_class(re.compile("status-live"), timeout=15000)


GAP_JS = (
    "(() => { const s = document.getElementById('stream'); return s.scrollHeight - s.scrollTop - s.clientHeight; })()"
)


def stream_gap(page) -> float:
    """How far the message pane is from its bottom (0 = showing the newest message)."""
    return page.evaluate(GAP_JS)


def test_room_scrolls_like_a_chat(browser, live_server_proc):  # noqa: F811
    from playwright.sync_api import expect

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: long shift")
    seed(server, room_id, [("bob" if i % 2 else "alice", f"shift note {i:03d}") for i in range(1, 81)])
    alice = sign_in(browser, server, "alice", width=1280, height=800)
    open_room(alice, server, room_id)

    # Opens at the newest message; the page itself does not scroll and the composer is in view.
    expect(alice.locator(".msg", has_text="shift note 080")).to_be_in_viewport()
    assert stream_gap(alice) < 5
    assert alice.evaluate("document.scrollingElement.scrollHeight") <= 801
    composer = alice.locator("#composer").bounding_box()
    assert composer["y"] + composer["height"] <= 800
    alice.screenshot(path=str(SHOTS / "room-chat-1280-en.png"))
    readme_shot(alice, "room")

    # Scrolling up loads the older page (by seq), back to the first message.
    msgs = alice.locator("#messages .msg:not(.system)")
    expect(msgs).to_have_count(50)
    alice.evaluate("document.getElementById('stream').scrollTop = 0")
    expect(msgs).to_have_count(80)
    expect(alice.locator(".msg", has_text="shift note 001")).to_have_count(1)
    expect(alice.locator(".msg", has_text="shift note 080")).not_to_be_in_viewport()

    # Scrolled up, a new message does not move the pane: it is counted, divided, and one click away.
    alice.evaluate("document.getElementById('stream').scrollTop = 200")
    top = alice.evaluate("document.getElementById('stream').scrollTop")
    bob = api_as(server, "bob")
    assert bob.post(f"/api/rooms/{room_id}/messages/", json={"content": "pump 4 tripped"}).status_code == 201
    jump = alice.locator("#jump-latest")
    expect(jump).to_be_visible()
    expect(jump).to_contain_text("1")
    expect(alice.locator("#unread-divider + .msg")).to_contain_text("pump 4 tripped")
    assert abs(alice.evaluate("document.getElementById('stream').scrollTop") - top) < 2
    alice.screenshot(path=str(SHOTS / "room-chat-1280-unread.png"))
    jump.click()
    expect(alice.locator(".msg", has_text="pump 4 tripped")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # At the bottom, new messages scroll into view on their own.
    assert bob.post(f"/api/rooms/{room_id}/messages/", json={"content": "pump 4 restarted"}).status_code == 201
    expect(alice.locator(".msg", has_text="pump 4 restarted")).to_be_in_viewport()
    expect(jump).to_be_hidden()

    # Away and back: a divider marks what arrived since this browser last read the room.
    alice.goto(f"{server.url}/rooms/")
    assert bob.post(f"/api/rooms/{room_id}/messages/", json={"content": "handover at 22:00"}).status_code == 201
    open_room(alice, server, room_id)
    expect(alice.locator("#unread-divider + .msg")).to_contain_text("handover at 22:00")
    expect(alice.locator(".msg", has_text="handover at 22:00")).to_be_in_viewport()


def test_message_search_in_a_room_and_across_my_rooms(browser, live_server_proc):  # noqa: F811
    from playwright.sync_api import expect

    server = live_server_proc
    room_a = new_room(server, "bob", {"alice": "editor"}, title="Browser test: press 3")
    room_b = new_room(server, "bob", {"alice": "editor"}, title="Browser test: press 9")
    rows = [("bob", f"routine check {i}") for i in range(70)]
    rows[3] = ("bob", "<b>液壓</b> 油溫過高 on press 3")  # far above the first page
    seed(server, room_a, rows)
    seed(server, room_b, [("bob", "press 9 液壓系統 OK")])
    alice = sign_in(browser, server, "alice", width=1280, height=800)
    open_room(alice, server, room_a)

    alice.click("#room-search-toggle")
    alice.fill("#room-search-q", "液壓")
    alice.press("#room-search-q", "Enter")
    hit = alice.locator("#room-search-results .search-hit")
    expect(hit).to_have_count(1)
    expect(hit.locator("mark")).to_have_text("液壓")
    expect(hit).to_contain_text("<b>液壓</b> 油溫過高")  # escaped, not markup
    assert hit.locator("b").count() == 0
    hit.locator("a").click()
    target = alice.locator(".msg", has_text="油溫過高")
    expect(target).to_be_in_viewport()
    expect(target).to_have_class(re.compile("flash"))
    assert "#seq-" in alice.url
    alice.screenshot(path=str(SHOTS / "room-search-1280.png"))

    # Across my rooms, from the room list; a hit opens its room at the message.
    alice.goto(f"{server.url}/rooms/")
    alice.fill("#ms-q", "液壓")
    alice.press("#ms-q", "Enter")
    hits = alice.locator("#ms-results .search-hit", has_text="Browser test: press")  # the demo data has 液壓 too
    expect(hits).to_have_count(2)
    expect(hits.filter(has_text="press 9 液壓系統").locator("mark")).to_have_text("液壓")
    expect(hits.filter(has_text="Browser test: press 3")).to_have_count(1)
    hits.filter(has_text="Browser test: press 3").locator("a").click()
    expect(alice.locator(".msg", has_text="油溫過高")).to_be_in_viewport(timeout=15000)
    expect(alice.locator(".msg", has_text="油溫過高")).to_have_class(re.compile("flash"))
    # The newest messages are one click away from there.
    alice.click("#jump-latest")
    expect(alice.locator(".msg", has_text="routine check 69")).to_be_in_viewport()


def test_angle_brackets_are_kept_and_a_markdown_subset_renders(browser, live_server_proc):  # noqa: F811
    from playwright.sync_api import expect

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: PLC snippets")
    alice = sign_in(browser, server, "alice", width=1280, height=800)
    bob = sign_in(browser, server, "bob", width=1280, height=800)
    for page in (alice, bob):
        open_room(page, server, room_id)

    sent = [
        "Set <tag>Motor_1</tag> to **ON** and _check_ [the manual](https://example.com/m)",
        '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> [x](javascript:window.__pwned=3)',
        '```\n<plc addr="%MW10">\n  <b>raw</b>\n</plc>\n```',
    ]
    for text in sent:
        alice.locator("#composer-text").fill(text)
        alice.locator("#composer-text").press("Enter")
        expect(alice.locator(".msg.pending")).to_have_count(0)

    first = bob.locator(".msg", has_text="Motor_1")
    expect(first.locator(".msg-body")).to_contain_text("Set <tag>Motor_1</tag> to ON")
    expect(first.locator(".msg-body strong")).to_have_text("ON")
    expect(first.locator(".msg-body em")).to_have_text("check")
    link = first.locator(".msg-body a")
    expect(link).to_have_attribute("href", "https://example.com/m")
    expect(link).to_have_attribute("rel", re.compile("noopener"))
    second = bob.locator(".msg", has_text="__pwned")
    expect(second.locator(".msg-body")).to_contain_text("<script>window.__pwned = 1</script><img src=x")
    assert second.locator("img, script, a").count() == 0
    code = bob.locator(".msg .msg-body pre code")
    expect(code).to_have_text('<plc addr="%MW10">\n  <b>raw</b>\n</plc>\n')
    for page in (alice, bob):
        assert page.evaluate("window.__pwned") is None

    # The API keeps the source exactly; edits start from the source, not the rendering.
    stored = api_as(server, "bob").get(f"/api/rooms/{room_id}/messages/").json()["results"]
    assert [m["content"] for m in stored if m["message_type"] == "text"] == sent
    seq = alice.locator(".msg", has_text="Motor_1").get_attribute("data-seq")
    mine = alice.locator(f"#seq-{seq}")  # by seq: while editing, the text is in a textarea
    mine.hover()
    mine.locator(".edit-button").click()
    expect(mine.locator(".edit-form textarea")).to_have_value(sent[0])


def test_system_lines_and_times_follow_the_page_language(browser, live_server_proc):  # noqa: F811
    from playwright.sync_api import expect

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: 語言")
    bob_api = api_as(server, "bob")
    version = bob_api.get(f"/api/rooms/{room_id}/").json()["version"]
    assert bob_api.patch(f"/api/rooms/{room_id}/", json={"status": "resolved", "version": version}).status_code == 200
    bob_api.post(f"/api/rooms/{room_id}/messages/", json={"content": "閥門已更換"})

    alice = sign_in(browser, server, "alice", width=1280, height=800)
    alice.context.add_cookies([{"name": "django_language", "value": "zh-hant", "url": server.url}])
    open_room(alice, server, room_id)
    system = alice.locator(".msg.system")
    expect(system.first).to_have_text(re.compile("開啟了這個事件處理室"))
    expect(system.nth(1)).to_contain_text("已解決")
    expect(alice.locator(".msg", has_text="閥門已更換").locator("time")).to_have_text(re.compile("[上下]午"))
    expect(alice.locator("#member-list .pill", has_text="擁有者")).to_have_count(1)  # role names too
    expect(alice.locator("#online-list li")).to_have_count(1)
    alice.screenshot(path=str(SHOTS / "room-chat-1280-zh-hant.png"))

    alice.context.add_cookies([{"name": "django_language", "value": "en", "url": server.url}])
    open_room(alice, server, room_id)
    expect(alice.locator(".msg.system").first).to_have_text(re.compile("opened the room"))
    expect(alice.locator("#member-list .pill").first).to_have_text(re.compile("^(Owner|Editor|Viewer)$"))
    expect(alice.locator(".msg", has_text="閥門已更換").locator("time")).to_have_text(re.compile("AM|PM"))


def test_new_room_form_keeps_input_and_actions_stay_out_of_the_way(browser, live_server_proc):  # noqa: F811
    from playwright.sync_api import expect

    server = live_server_proc
    alice = sign_in(browser, server, "alice", width=1280, height=800)
    alice.goto(f"{server.url}/rooms/")
    alice.click("#new-room summary")
    alice.fill("#n-title", "   ")
    alice.fill("#n-location", "Line 9 press")
    alice.select_option("#n-severity", "critical")
    alice.click(".new-room-form button[type=submit]")
    expect(alice.locator("#new-room-error")).to_be_visible()
    expect(alice.locator("#n-location")).to_have_value("Line 9 press")
    expect(alice.locator("#n-severity")).to_have_value("critical")

    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: actions")
    api_as(server, "bob").post(f"/api/rooms/{room_id}/messages/", json={"content": "conveyor 2 stopped"})
    open_room(alice, server, room_id)
    msg = alice.locator("#seq-2")  # seq 1 is "Bob opened the room."
    expect(msg).to_contain_text("conveyor 2 stopped")
    assert msg.bounding_box()["height"] < 64  # actions no longer take a row of their own
    tools = msg.locator(".msg-tools")
    assert tools.evaluate("e => getComputedStyle(e).opacity") == "0"

    # Keyboard only: focus shows the actions, the picker opens on Enter, arrows move, Enter reacts.
    msg.locator(".react-button").focus()
    assert tools.evaluate("e => getComputedStyle(e).opacity") == "1"
    alice.keyboard.press("Enter")
    picker = msg.locator(".picker")
    expect(picker).to_be_visible()
    assert picker.locator("button").count() >= 60
    assert picker.locator(".picker-title").count() >= 4
    expect(picker.locator("button").first).to_be_focused()
    alice.screenshot(path=str(SHOTS / "room-emoji-picker-1280.png"))
    alice.keyboard.press("ArrowRight")
    alice.keyboard.press("ArrowRight")
    expect(picker.locator("button").nth(2)).to_be_focused()
    alice.keyboard.press("Enter")
    expect(msg.locator(".reaction", has_text="👀 1")).to_be_visible()
    expect(msg.locator(".picker")).to_have_count(0)
    expect(msg.locator(".react-button")).to_be_focused()

    # Reply quotes the message and leads back to it.
    msg.hover()
    msg.locator(".reply-button").click()
    expect(alice.locator("#reply-to")).to_contain_text("conveyor 2 stopped")
    alice.locator("#composer-text").fill("on my way")
    alice.locator("#composer-text").press("Enter")
    reply = alice.locator(".msg:not(.pending)", has_text="on my way")
    expect(reply.locator(".msg-reply-ref")).to_contain_text("conveyor 2 stopped")
    reply.locator(".msg-reply-ref").click()
    expect(msg).to_have_class(re.compile("flash"))
