"""Stored XSS: script-bearing text in task titles, descriptions, comments, custom field
names and values, project names, room titles and chat messages renders inert in Chromium.

Each payload would set `window.__xss` if it ever ran. Checked on every page that shows it:
the flag stays unset, no dialog opens, no payload element exists in the DOM, and no inline
script was even attempted (a CSP violation would mean the markup went live and only the
policy saved us: a bug too). The payload text must still be visible as text.
"""

import json
import urllib.request
import uuid

import pytest

from tests.browser.conftest import browser, daphne_server, signed_in  # noqa: F401 (shared fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

MARK = "xss" + uuid.uuid4().hex[:6]
PAYLOAD = (
    f'{MARK}<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>'
    f'"><svg/onload="window.__xss=3"><a href="javascript:window.__xss=4">{MARK}-link</a>'
)

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.sample || '') + ' ' + (e.sourceFile || '')));
"""


def call(server, method, path, token=None, body=None):
    req = urllib.request.Request(
        server.url + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 (loopback test server)
        return json.loads(resp.read() or b"null")


@pytest.fixture(scope="module")
def stored(daphne_server):  # noqa: F811
    s = daphne_server
    token = call(s, "POST", "/api/auth/token/", body={"username": "alice", "password": "contorl-demo"})["access"]
    project = call(
        s, "POST", "/api/projects/", token, {"name": PAYLOAD[:200], "key": "X" + uuid.uuid4().hex[:4].upper()}
    )
    call(
        s,
        "POST",
        f"/api/projects/{project['id']}/custom-fields/",
        token,
        {"key": "note", "name": PAYLOAD[:100], "type": "text"},
    )
    task = call(
        s, "POST", "/api/tasks/", token,
        {"project": project["id"], "title": PAYLOAD, "description": PAYLOAD, "custom_fields": {"note": PAYLOAD}},
    )  # fmt: skip
    call(s, "POST", f"/api/tasks/{task['id']}/comments/", token, {"body": PAYLOAD})
    room = call(s, "POST", "/api/rooms/", token, {"title": PAYLOAD[:200], "severity": "high"})
    call(s, "POST", f"/api/rooms/{room['id']}/messages/", token, {"content": PAYLOAD})
    return {"P": project["id"], "T": task["id"], "R": room["id"]}


def test_stored_payloads_render_inert(stored, signed_in):  # noqa: F811
    page = signed_in("alice")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.context.add_init_script(WATCH)
    pages = [
        "/",
        "/projects/",
        f"/projects/{stored['P']}/board/",
        f"/projects/{stored['P']}/list/",
        f"/projects/{stored['P']}/settings/",
        f"/tasks/{stored['T']}/",
        "/rooms/",
        f"/rooms/{stored['R']}/",
    ]
    shown_on = []
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        state = page.evaluate(
            """(mark) => ({
                fired: window.__xss === undefined ? null : window.__xss,
                csp: window.__csp || [],
                live: document.querySelectorAll('img[src="x"], svg[onload], [onerror], a[href^="javascript:"]').length,
                // json_script data blocks (type=application/json) hold the text as inert data.
                scripts: [...document.scripts].filter(s => (!s.type || /javascript|module/.test(s.type))
                                                          && s.textContent.includes('__xss')).length,
                text: document.body.innerText.includes(mark),
            })""",
            MARK,
        )
        assert state["fired"] is None, f"{path}: payload script ran ({state['fired']})"
        assert state["live"] == 0 and state["scripts"] == 0, f"{path}: payload markup went live: {state}"
        assert [v for v in state["csp"] if "script" in v] == [], f"{path}: inline script attempted: {state['csp']}"
        if state["text"]:
            shown_on.append(path)
    assert dialogs == []
    # The payload is shown (as text) where the data lives, so the check above saw it.
    for path in (f"/tasks/{stored['T']}/", f"/projects/{stored['P']}/board/", f"/rooms/{stored['R']}/"):
        assert path in shown_on, f"the payload text is not on {path}; shown on {shown_on}"
