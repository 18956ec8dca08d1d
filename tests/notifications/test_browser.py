"""The bell in a real browser: live count, dropdown, read-all across tabs, 390 px wide."""

import pytest

from tests.browser.conftest import shoot

pytestmark = pytest.mark.browser


def _badge(page) -> str:
    return page.eval_on_selector("#bell-count", "el => el.hidden ? '' : el.textContent")


def test_bell_is_live_and_read_all_clears_every_tab(daphne_server, signed_in):
    daphne_server.run_python(
        "from contorl.accounts.models import User; User.objects.filter(username='bob').update(is_system_admin=True)"
    )
    bob = signed_in("bob")
    bob2 = signed_in("bob", viewport={"width": 390, "height": 800})
    for page in (bob, bob2):
        page.goto("/notifications/")
        page.wait_for_selector("#bell-count:not([data-count='0'])", state="attached")
    before = int(bob.eval_on_selector("#bell-count", "el => el.dataset.count"))

    admin = signed_in("admin")
    status = admin.evaluate(
        """async () => {
            const found = await window.contorl.api("GET", "/api/users/?q=carol");
            const carol = found.data.results.find((u) => u.username === "carol");
            const res = await window.contorl.api("PATCH", `/api/users/${carol.id}/admin/`,
                {is_system_admin: true, version: carol.version});
            return res.status;
        }"""
    )
    assert status == 200
    for page in (bob, bob2):
        page.wait_for_selector(f"#bell-count[data-count='{before + 1}']", state="attached")
    assert _badge(bob) == str(before + 1)

    bob2.click("#bell")
    bob2.wait_for_selector("#bell-dropdown li.unread")
    assert "user.admin_change" in bob2.inner_text("#bell-dropdown")
    width = bob2.eval_on_selector("#bell-dropdown", "el => el.getBoundingClientRect().right")
    assert width <= 390
    shoot(bob2, "notifications-bell-390")
    bob2.click("#bell-read-all")
    for page in (bob, bob2):
        page.wait_for_selector("#bell-count[hidden][data-count='0']", state="attached")
    assert _badge(bob) == ""
