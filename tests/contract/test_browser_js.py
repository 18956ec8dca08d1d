"""The browser code speaks the contract in docs/events: every frame type the pages compare
`frame.type` against (exact names, `/^task_/` prefixes, `case "..."` arms) is a server frame
of the endpoint the page listens to, and every frame literal they send passes the client
schemas of that endpoint.

The JS is read as text, not run: the patterns below are the only ways the pages name frame
types today, and `test_every_socket_page_is_mapped` fails when a new page opens a socket
without being added to PAGES.
"""

import re

import pytest

from . import frames

ROOT = frames.SCHEMA_DIR.parents[1]

# Each page script that handles or sends frames -> the endpoints its frames travel on.
ALL = ("project", "room", "notifications")
PAGES = {
    "static/js/core/live.js": ALL,  # liveSocket(): answers ping with pong on every socket
    "static/js/notifications.js": ("notifications",),
    "tasks/static/tasks/common.js": ("project",),  # projectLive(): the board, list and detail pages
    "tasks/static/tasks/board.js": ("project",),
    "tasks/static/tasks/detail.js": ("project",),
    "tasks/static/tasks/list.js": ("project",),
    "planning/static/planning/calendar.js": ("project",),
    "rooms/static/rooms/room/main.js": ("room",),  # the room socket: handles frames, sends resume
    "rooms/static/rooms/room/composer.js": ("room",),  # sends messages (outbox) and typing
}
# What the expressions in sent frame literals hold at run time: one sample, or a list of
# the values it can take (each is checked).
SAMPLES = {
    "lastSeq": 88,
    "text": "Line 3 **stopped**",
    "res.data.name": "belt.jpg",
    "res.data.id": 3,
    "kind": ["image_ref", "file_ref"],  # res.data.is_image ? "image_ref" : "file_ref"
}
# room/composer.js queue(): `frame.client_id = newClientId()` (Date.now() and Math.random() in base 36).
CLIENT_ID_SAMPLE = "mio8f1c2" + "k3j9x0q1w2e4"

COMPARED = re.compile(r"""frame\.type\s*===?\s*["']([a-z_]+)["']|["']([a-z_]+)["']\s*===?\s*frame\.type""")
REGEX_TEST = re.compile(r"""/\^([a-z_]+)(?:\(([a-z_|]+)\)\$)?/\.test\(frame\.type\)""")
SWITCH = re.compile(r"switch\s*\(frame\.type\)\s*\{")
CASE = re.compile(r"""case\s+["']([a-z_]+)["']\s*:""")
# A frame literal handed to send()/JSON.stringify()/queue(), or built as `frame = {type: ...}`.
SENT = re.compile(r"""(?:send\(\s*(?:JSON\.stringify\(\s*)?|queue\(\s*|frame\s*=\s*)(?=\{\s*type:\s*["'][a-z_]+["'])""")


def source(rel: str) -> str:
    return (ROOT / rel).read_text()


def switch_body(js: str) -> str:
    """The text of each `switch (frame.type) { ... }`, up to its matching brace."""
    bodies = []
    for match in SWITCH.finditer(js):
        depth, i = 1, match.end()
        while depth and i < len(js):
            depth += {"{": 1, "}": -1}.get(js[i], 0)
            i += 1
        bodies.append(js[match.end() : i])
    return "\n".join(bodies)


def received(js: str) -> tuple[set[str], set[str]]:
    """(exact frame types, type prefixes) a page compares frame.type against."""
    exact = {a or b for a, b in COMPARED.findall(js)}
    exact |= set(CASE.findall(switch_body(js)))
    prefixes = set()
    for prefix, alternatives in REGEX_TEST.findall(js):
        if alternatives:
            exact |= {prefix + alt for alt in alternatives.split("|")}
        else:
            prefixes.add(prefix)
    return exact, prefixes


class Literal:
    """Reads a JS object literal into its possible values: keys bare or quoted, values
    strings, numbers, nested objects, or an expression looked up in SAMPLES."""

    def __init__(self, js: str, start: int):
        self.js, self.i = js, start

    def skip(self) -> None:
        while self.js[self.i].isspace():
            self.i += 1

    def object(self) -> list[dict]:
        assert self.js[self.i] == "{"
        self.i += 1
        variants: list[dict] = [{}]
        while True:
            self.skip()
            if self.js[self.i] == "}":
                self.i += 1
                return variants
            key = re.match(r"""["']?(\w+)["']?\s*:""", self.js[self.i :])
            assert key, f"cannot read a key at: {self.js[self.i : self.i + 40]!r}"
            self.i += key.end()
            values = self.value()
            variants = [{**v, key.group(1): value} for v in variants for value in values]
            self.skip()
            if self.js[self.i] == ",":
                self.i += 1

    def value(self) -> list:
        self.skip()
        if self.js[self.i] == "{":
            return self.object()
        text = re.match(r"""("[^"]*"|'[^']*'|-?\d+(?:\.\d+)?|[^,}]+)""", self.js[self.i :]).group(1)
        self.i += len(text)
        text = text.strip()
        if text[0] in "\"'":
            return [text[1:-1]]
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return [float(text) if "." in text else int(text)]
        assert text in SAMPLES, f"no sample value for {text!r}: add one to SAMPLES"
        sample = SAMPLES[text]
        return sample if isinstance(sample, list) else [sample]


def sent(js: str) -> list[dict]:
    """Every frame a page sends, once per combination of its sample values."""
    return [frame for match in SENT.finditer(js) for frame in Literal(js, match.end()).object()]


def test_every_socket_page_is_mapped():
    scripts = [p for pattern in ("static/js/**/*.js", "*/static/**/*.js") for p in ROOT.glob(pattern)]
    talking = {
        p.relative_to(ROOT).as_posix()
        for p in scripts
        if re.search(r"liveSocket\(|projectLive\(|frame\.type|new WebSocket", p.read_text())
    }
    assert talking - set(PAGES) == set(), "a page opens or reads a socket: map it in PAGES"


def test_the_scan_finds_what_the_pages_handle_and_send():
    # Guards the regexes: if a rewrite hides these from them, the other tests would pass empty.
    assert received(source("rooms/static/rooms/room/main.js"))[0] >= {"ready", "message", "ack", "error", "presence"}
    assert received(source("tasks/static/tasks/common.js")) == ({"ready", "board_changed"}, {"task_"})
    assert "task_restored" in received(source("tasks/static/tasks/board.js"))[0]
    assert received(source("planning/static/planning/calendar.js"))[1] == {"assignment_"}
    assert received(source("static/js/notifications.js"))[0] == {"unread", "notification", "unread_count"}
    room = sent(source("rooms/static/rooms/room/main.js")) + sent(source("rooms/static/rooms/room/composer.js"))
    assert {f["type"] for f in room} == {"message", "typing", "resume"}
    assert {"file_ref", "image_ref", "text"} == {f["message_type"] for f in room if f["type"] == "message"}
    assert sent(source("static/js/core/live.js")) == [{"type": "pong"}]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_frame_type_a_page_handles_has_a_schema_on_its_endpoints(page):
    exact, prefixes = received(source(page))
    for endpoint in PAGES[page]:
        known = set(frames.index()[endpoint]["server"])
        assert exact - known == set(), f"{page} handles frames the {endpoint} endpoint never sends"
        for prefix in prefixes:
            assert any(t.startswith(prefix) for t in known), f"{page}: no {endpoint} frame starts with {prefix!r}"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_frame_a_page_sends_passes_the_client_schemas(page):
    js = source(page)
    for frame in sent(js):
        variants = [frame]
        if frame["type"] == "message" and re.search(r"frame\.client_id\s*=", js):
            # queue() stamps every message with a client_id; a reply adds metadata.reply_to.
            variants.append({**frame, "client_id": CLIENT_ID_SAMPLE})
            reply = {"id": 501, "seq": 88, "author": "Bob Lin", "excerpt": "Line 3 stopped"}
            variants.append({**frame, "client_id": CLIENT_ID_SAMPLE, "metadata": {"reply_to": reply}})
        for endpoint in PAGES[page]:
            for variant in variants:
                assert frames.problems(variant, endpoint=endpoint, direction="client") == [], (page, variant)
