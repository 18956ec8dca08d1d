"""Two people in one incident room, in real Chromium against a real daphne."""

import os
import re
from pathlib import Path

import pytest

from tests.rooms.live import DEMO_PASSWORD, new_room

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per module (starting one costs ~1.6 s); each test gets its own contexts
    through `browser`. Module scope, not session: see tests/browser/conftest.py."""
    from playwright.sync_api import sync_playwright

    from conftest import CHROMIUM, need

    need(os.path.exists(CHROMIUM), "Debian Chromium")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield chromium
        chromium.close()


class ChromiumForOneTest:
    """The module's Chromium as one test sees it: the contexts the test opens close when it ends."""

    def __init__(self, chromium):
        self.chromium, self.contexts = chromium, []

    def new_context(self, **options):
        context = self.chromium.new_context(**options)
        self.contexts.append(context)
        return context


@pytest.fixture
def browser(chromium):
    one_test = ChromiumForOneTest(chromium)
    yield one_test
    for context in one_test.contexts:
        context.close()


# Chromium -> {username: (the cookies of its form sign-in, the page it landed on)}
_SIGN_INS: dict = {}


def sign_in(browser, server, username, *, width=1280, height=800):
    """A page of a fresh context, signed in. The first sign-in per user and Chromium goes
    through the form; later ones start from its cookies (the same session, like another tab)
    and open the page it landed on."""
    sign_ins = _SIGN_INS.setdefault(browser.chromium, {})
    known = sign_ins.get(username)
    state = {"storage_state": {"cookies": known[0], "origins": []}} if known else {}
    context = browser.new_context(viewport={"width": width, "height": height}, **state)
    page = context.new_page()
    if known is not None:
        page.goto(known[1])
        assert "/accounts/login/" not in page.url, f"{username}'s session no longer signs in"
        return page
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    sign_ins[username] = (context.cookies(), page.url)
    return page


def test_two_users_chat_see_typing_and_reactions_live(browser, live_server_proc):
    from playwright.sync_api import expect

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: Line 5 jam")
    SHOTS.mkdir(parents=True, exist_ok=True)
    bob = sign_in(browser, server, "bob")
    alice = sign_in(browser, server, "alice", width=390, height=844)  # phone width
    for page in (bob, alice):
        page.goto(f"{server.url}/rooms/{room_id}/")
        expect(page.locator("#live-status")).to_have_class(re.compile("status-live"), timeout=15000)

    # Bob types: Alice sees the typing line.
    bob.locator("#composer-text").press_sequentially("Jam cleared on ", delay=20)
    expect(alice.locator("#typing-line")).to_contain_text("Bob", timeout=10000)
    bob.locator("#composer-text").press_sequentially("line 5 @ali", delay=20)
    expect(bob.locator("#mention-list li")).to_have_count(1)
    bob.locator("#composer-text").press("Enter")  # picks @alice from the autocomplete
    bob.locator("#composer-text").press("Enter")  # sends
    msg = alice.locator(".msg", has_text="Jam cleared on line 5 @alice")
    expect(msg).to_be_visible(timeout=10000)
    expect(msg).to_have_class(re.compile("mentions-me"))
    expect(alice.locator("#typing-line")).to_have_text("", timeout=10000)  # sending clears typing

    # Alice answers; Bob sees it.
    alice.locator("#composer-text").fill("謝謝,3號線恢復運轉")
    alice.locator("#send-button").click()
    expect(bob.locator(".msg", has_text="謝謝,3號線恢復運轉")).to_be_visible(timeout=10000)

    # Alice reacts to Bob's message: Bob sees the reaction appear.
    msg.locator(".react-button").click()
    msg.locator(".picker button", has_text="👍").click()
    bob_msg = bob.locator(".msg", has_text="Jam cleared on line 5")
    expect(bob_msg.locator(".reaction", has_text="👍 1")).to_be_visible(timeout=10000)

    # Both see each other online.
    expect(bob.locator("#online-list li")).to_have_count(2, timeout=10000)
    bob.screenshot(path=str(SHOTS / "rooms-bob-desktop.png"))
    alice.screenshot(path=str(SHOTS / "rooms-alice-390px.png"), full_page=True)
    # Nothing overflows sideways at 390 px.
    assert alice.evaluate("document.documentElement.scrollWidth") <= 392


def test_room_list_page_filters_and_opens_from_template(browser, live_server_proc):
    from playwright.sync_api import expect

    server = live_server_proc
    page = sign_in(browser, server, "alice", width=390, height=844)
    page.goto(f"{server.url}/rooms/")
    expect(page.locator(".room-card", has_text="3號線停機")).to_be_visible()
    page.select_option("#f-severity", "critical")
    page.click(".rooms-filters button[type=submit]")
    expect(page.locator(".room-card")).to_have_count(1)
    page.click("#new-room summary")
    page.select_option("#n-template", label="Line stoppage (High)")
    page.fill("#n-location", "Line 8")
    page.click(".new-room-form button[type=submit]")
    expect(page.locator("#room-title")).to_contain_text("Line 8 stoppage")
    page.screenshot(path=str(SHOTS / "rooms-new-from-template-390px.png"), full_page=True)


def test_offline_queue_and_resume_in_the_browser(browser, live_server_proc):
    import httpx
    from playwright.sync_api import expect

    from tests.rooms.live import token

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: offline queue")
    alice = sign_in(browser, server, "alice")
    alice.goto(f"{server.url}/rooms/{room_id}/")
    expect(alice.locator("#live-status")).to_have_class(re.compile("status-live"), timeout=15000)

    alice.evaluate("window.contorlRoom.drop()")
    for text in ("offline one", "offline two"):  # typed while the socket is down
        alice.locator("#composer-text").fill(text)
        alice.locator("#composer-text").press("Enter")
    headers = {"Authorization": f"Bearer {token(server, 'bob')}"}
    for text in ("bob while alice was away 1", "bob while alice was away 2"):
        httpx.post(f"{server.url}/api/rooms/{room_id}/messages/", json={"content": text}, headers=headers, timeout=10)

    # Back after the 1 s backoff: Bob's messages come by resume, Alice's queue goes out once.
    expect(alice.locator(".msg", has_text="bob while alice was away 2")).to_be_visible(timeout=15000)
    expect(alice.locator(".msg:not(.pending)", has_text="offline two")).to_be_visible(timeout=15000)
    assert alice.evaluate("window.contorlRoom.queued") == 0
    stored = httpx.get(f"{server.url}/api/rooms/{room_id}/messages/?limit=50", headers=headers, timeout=10).json()
    contents = [m["content"] for m in stored["results"]]
    assert contents.count("offline one") == 1 and contents.count("offline two") == 1
    assert contents.index("offline one") < contents.index("offline two")
    shown = alice.locator(".msg .msg-body").all_inner_texts()
    assert shown.count("offline one") == 1 and shown.count("bob while alice was away 1") == 1
    alice.screenshot(path=str(SHOTS / "rooms-offline-queue.png"))


def test_changes_made_while_offline_show_after_the_resume(browser, live_server_proc):
    import httpx
    from playwright.sync_api import expect

    from tests.rooms.live import token

    server = live_server_proc
    room_id = new_room(server, "bob", {"alice": "editor"}, title="Browser test: changes while away")
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token(server, 'bob')}"}, timeout=10)
    sent = [
        api.post(f"/api/rooms/{room_id}/messages/", json={"content": text}).json()
        for text in ("pump 2 pressure low", "wrong line, ignore", "valve replaced")
    ]
    alice = sign_in(browser, server, "alice")
    alice.goto(f"{server.url}/rooms/{room_id}/")
    status = alice.locator("#live-status")
    expect(status).to_have_class(re.compile("status-live"), timeout=15000)
    expect(alice.locator(".msg", has_text="wrong line, ignore")).to_be_visible()

    alice.evaluate("window.contorlRoom.goOffline()")  # no reconnect until goOnline()
    expect(status).to_have_class(re.compile("status-offline"), timeout=10000)
    edited, dropped, liked = sent
    r = api.patch(f"/api/messages/{edited['id']}/", json={"content": "pump 2 pressure normal", "version": 1})
    assert r.status_code == 200, r.text
    assert api.delete(f"/api/messages/{dropped['id']}/").status_code == 204
    assert api.post(f"/api/messages/{liked['id']}/reactions/", json={"emoji": "👍"}).status_code in (200, 201)
    # Still away: none of that can have arrived live.
    expect(status).to_have_class(re.compile("status-offline"))
    assert alice.locator(".msg", has_text="pump 2 pressure normal").count() == 0

    alice.evaluate("window.contorlRoom.goOnline()")
    expect(status).to_have_class(re.compile("status-live"), timeout=20000)
    expect(alice.locator(".msg", has_text="pump 2 pressure normal")).to_be_visible(timeout=10000)
    expect(alice.locator(".msg", has_text="wrong line, ignore")).to_have_count(0)
    expect(alice.locator(".msg", has_text="valve replaced").locator(".reaction")).to_contain_text("👍 1")
    assert alice.evaluate("window.contorlRoom.refreshes") >= 1
    assert alice.locator(".msg", has_text="pump 2 pressure low").count() == 0
