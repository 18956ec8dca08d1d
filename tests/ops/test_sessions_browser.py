"""The sessions page in real Chromium against a real daphne: phone width, and signing another
browser out closes that browser's live WebSocket."""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USER = "dave"  # a seeded demo user (tests/rooms/live.py seeds the live server)


@pytest.fixture(scope="module")
def daphne_server():
    from tests.rooms import live

    return live.start()


@pytest.fixture
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
        )
        yield browser
        browser.close()


def sign_in(browser, server, *, width, height):
    from tests.rooms.live import DEMO_PASSWORD

    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"{server.url}/accounts/login/")
    page.fill("#id_username", USER)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    return page


def test_sign_out_another_browser_from_a_phone(browser, daphne_server):
    from playwright.sync_api import expect

    desk = sign_in(browser, daphne_server, width=1280, height=800)
    phone = sign_in(browser, daphne_server, width=390, height=844)
    # The desk browser's bell holds a live socket (/ws/notifications/) like every signed-in page.
    with desk.expect_websocket(lambda ws: "/ws/notifications/" in ws.url, timeout=15000) as opened:
        desk.reload()
    desk_socket = opened.value
    desk_session = desk.evaluate("async () => (await (await fetch('/api/sessions/')).json()).find(s => s.current).id")

    phone.goto(f"{daphne_server.url}/accounts/sessions/")
    row = phone.locator(f'li[data-session-id="{desk_session}"]')
    expect(row).to_be_visible()
    expect(phone.locator("li.session-current")).to_have_count(1)
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    button = row.locator("button")
    assert button.bounding_box()["height"] >= 44  # tap target

    with desk_socket.expect_event("close", timeout=15000):
        button.click()

    expect(phone.locator(".messages")).to_contain_text("signed out")
    expect(phone.locator(f'li[data-session-id="{desk_session}"]')).to_have_count(0)
    desk.goto(f"{daphne_server.url}/accounts/sessions/")
    expect(desk).to_have_url(re.compile(r"/accounts/login/"))  # that browser must sign in again
