"""Chat text: stored as typed, rendered once on the server (rooms.markdown); paging and search."""

import pytest

from rooms import markdown
from rooms.models import Message
from tests.rooms.factories import make_room, send


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("<tag>", "<p>&lt;tag&gt;</p>"),
        ("<b>not bold</b>", "<p>&lt;b&gt;not bold&lt;/b&gt;</p>"),
        ("**bold** and _italic_", "<p><strong>bold</strong> and <em>italic</em></p>"),
        ("use `<tag/>`", "<p>use <code>&lt;tag/&gt;</code></p>"),
        ("```\n<a>\n  <b/>\n</a>\n```", "<pre><code>&lt;a&gt;\n  &lt;b/&gt;\n&lt;/a&gt;\n</code></pre>"),
        ("- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("line 1\nline 2", "<p>line 1<br>\nline 2</p>"),
        ("# 3 jams", "<p># 3 jams</p>"),  # no headings: a "#" in a log line is text
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"),
        ("[x](/admin/)", "<p>[x](/admin/)</p>"),
        # no images (a remote image would leak who reads the room); the link stays a link
        ("![i](https://e.com/i.png)", '<p>!<a href="https://e.com/i.png" rel="noopener nofollow">i</a></p>'),
    ],
)
def test_renderer_keeps_a_safe_subset(source, html):
    assert markdown.render(source) == html


def test_renderer_links_only_http_https_mailto_with_safe_rel():
    html = markdown.render("[m](https://e.com/m) <http://e.com> [mail](mailto:ops@e.com)")
    assert html.count('rel="noopener nofollow"') == 3
    assert 'href="https://e.com/m"' in html and 'href="http://e.com"' in html and 'href="mailto:ops@e.com"' in html


def test_renderer_never_emits_script_or_handlers():
    html = markdown.render('<script>alert(1)</script><img src=x onerror="alert(2)"> <a href="x" onclick="y">z</a>')
    assert "<script" not in html and "<img" not in html and "<a " not in html and "onerror=" not in html.split("&")[0]


@pytest.mark.django_db
def test_rest_payload_has_source_and_html_and_edits_work_on_the_source(api, room, user):
    source = "Set <tag>Motor_1</tag> to **ON**"
    r = api.post(f"/api/rooms/{room.pk}/messages/", {"content": source})
    assert r.status_code == 201
    body = r.json()
    assert body["content"] == source
    assert body["html"] == "<p>Set &lt;tag&gt;Motor_1&lt;/tag&gt; to <strong>ON</strong></p>"
    listed = api.get(f"/api/rooms/{room.pk}/messages/").json()["results"][-1]
    assert listed["content"] == source and listed["html"] == body["html"]
    edited = api.patch(f"/api/messages/{body['id']}/", {"content": "<tag>Motor_2</tag>", "version": 1}).json()
    assert edited["content"] == "<tag>Motor_2</tag>" and edited["html"] == "<p>&lt;tag&gt;Motor_2&lt;/tag&gt;</p>"
    history = api.get(f"/api/messages/{body['id']}/history/").json()
    assert history[0]["content"] == source and "<strong>ON</strong>" in history[0]["html"]
    assert Message.objects.get(pk=body["id"]).content == "<tag>Motor_2</tag>"
    found = api.get(f"/api/rooms/{room.pk}/messages/search/", {"q": "<tag>Motor_2"}).json()["results"]
    assert [m["id"] for m in found] == [body["id"]]


@pytest.mark.django_db
def test_system_lines_carry_metadata_to_be_said_in_any_language(api, user):
    room_id = api.post("/api/rooms/", {"title": "Oven 2"}).json()["id"]
    first = api.get(f"/api/rooms/{room_id}/messages/").json()["results"][0]
    assert first["message_type"] == "system"
    assert first["metadata"] == {"event": "opened", "user": user.display_name}
    assert first["html"] == first["content"].replace("&", "&amp;").replace("<", "&lt;")  # escaped, not Markdown


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["before_seq=abc", "before_seq=0", "limit=0", "limit=201", "after_seq=-1", "limit=1.5"]
)
def test_paging_parameters_are_validated(api, room, query):
    r = api.get(f"/api/rooms/{room.pk}/messages/?{query}")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_paging_backwards_by_seq(api, room, user, settings):
    settings.RATELIMIT_CHAT = "100/s"  # not the subject here
    for i in range(12):
        send(room, user, f"m{i}")
    newest = api.get(f"/api/rooms/{room.pk}/messages/?before_seq=999999&limit=5").json()["results"]
    assert [m["content"] for m in newest] == ["m7", "m8", "m9", "m10", "m11"]
    older = api.get(f"/api/rooms/{room.pk}/messages/?before_seq={newest[0]['seq']}&limit=5").json()["results"]
    assert [m["content"] for m in older] == ["m2", "m3", "m4", "m5", "m6"]


@pytest.mark.django_db
def test_search_across_my_rooms_only(api, api_for, user, carol, other_user):
    mine = make_room(user, title="Press 3")
    shared = make_room(carol, title="Press 9", members=[(user, "viewer")])
    hidden = make_room(other_user, title="Someone else's")
    send(mine, user, "液壓 oil hot")
    send(shared, carol, "check the 液壓系統")
    send(hidden, other_user, "液壓 secret")
    r = api.get("/api/rooms/messages/search/", {"q": "液壓"})
    assert r.status_code == 200
    got = {(m["room"], m["room_title"], m["content"]) for m in r.json()["results"]}
    assert got == {(mine.pk, "Press 3", "液壓 oil hot"), (shared.pk, "Press 9", "check the 液壓系統")}
    assert {m["content"] for m in api.get("/api/rooms/messages/search/", {"q": "壓系"}).json()["results"]} == {
        "check the 液壓系統"
    }
    r = api.get("/api/rooms/messages/search/", {"q": " "})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error"
    assert api.get("/api/rooms/messages/search/", {"q": "x" * 201}).status_code == 400
