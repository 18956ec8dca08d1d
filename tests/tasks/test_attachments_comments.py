"""Attachments (names, sizes, types, permission-checked download), comments, history, rate tiers."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contorl.errors import ValidationFailed
from tasks import services
from tasks.models import Attachment, Comment

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, task, filename="report.txt", content=b"hello", content_type="text/plain", **extra):
    f = SimpleUploadedFile(filename, content, content_type=content_type)
    return client.post(f"/api/tasks/{task.pk}/attachments/", {"file": f, **extra}, format="multipart")


def test_upload_and_download(api, api_for, task, outsider, viewer, settings):
    r = upload(api, task)
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["name"] == "report.txt" and data["size"] == 5 and data["content_type"] == "text/plain"
    attachment = Attachment.objects.get(pk=data["id"])
    # server-generated storage name, inside MEDIA_ROOT, not the user's name
    assert "report" not in attachment.file.name and attachment.file.name.startswith("attachments/")
    assert os.path.realpath(attachment.file.path).startswith(os.path.realpath(settings.MEDIA_ROOT))
    response = api_for(viewer).get(data["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert 'filename="report.txt"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert api_for(outsider).get(data["url"]).status_code == 404
    assert api.get(f"/api/tasks/{task.pk}/attachments/").json()[0]["url"] == data["url"]


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "/etc/passwd.txt",
        "..\\..\\boot.txt",
        "C:evil.txt",
        "a\x00b.txt",
        "report\u202etxt.exe",  # right-to-left override
        "re\u200bport.txt",  # zero width space
        "\uff0e\uff0e\uff0fpasswd.txt",  # fullwidth ../
        "..",
        "x" * 256 + ".txt",
    ],
)
def test_traversal_and_trick_names_rejected(api, task, name):
    r = upload(api, task, filename="ok.txt", name=name)
    assert r.status_code == 400, (name, r.content)
    assert r.json()["error"]["code"] == "validation_error"
    with pytest.raises(ValidationFailed):
        services.clean_filename(name)
    assert not Attachment.objects.exists()


def test_multipart_path_in_filename_never_reaches_storage(api, task):
    r = upload(api, task, filename="../../../../tmp/evil.txt")
    # Django strips the path from the multipart filename; whatever remains is only a label
    if r.status_code == 201:
        attachment = Attachment.objects.get()
        assert "/" not in attachment.original_name and ".." not in attachment.original_name
        assert attachment.file.name.startswith(f"attachments/{task.project_id}/")
    else:
        assert r.status_code == 400


def test_oversize_rejected(api, task, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    r = upload(api, task, content=b"x" * 1025)
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert upload(api, task, content=b"x" * 1024).status_code == 201


def test_content_type_checks(api, task, settings):
    settings.RATELIMIT_HEAVY = "100/m"
    assert upload(api, task, filename="page.html", content=b"<script>", content_type="text/html").status_code == 400
    assert upload(api, task, filename="x.svg", content=b"<svg/>", content_type="image/svg+xml").status_code == 400
    assert upload(api, task, filename="fake.png", content=b"not a png", content_type="image/png").status_code == 400
    assert upload(api, task, filename="a.png", content=PNG, content_type="text/plain").status_code == 400
    assert upload(api, task, filename="a.png", content=PNG, content_type="image/png").status_code == 201
    assert upload(api, task, filename="empty.txt", content=b"").status_code == 400


def test_viewer_cannot_upload_and_upload_is_heavy_tier(api_for, viewer, api, task, settings):
    assert upload(api_for(viewer), task).status_code == 403
    settings.RATELIMIT_HEAVY = "2/m"
    codes = [upload(api, task, filename=f"f{i}.txt").status_code for i in range(3)]
    assert codes[-1] == 429
    # listing is standard tier, still fine
    assert api.get(f"/api/tasks/{task.pk}/attachments/").status_code == 200


def test_standard_tier_on_task_endpoints(api, task, settings):
    settings.RATELIMIT_STANDARD = "3/m"
    codes = [api.get(f"/api/tasks/{task.pk}/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = api.get(f"/api/tasks/{task.pk}/comments/")
    assert r.status_code == 429 and int(r["Retry-After"]) >= 1


def test_attachment_delete(api, api_for, viewer, owner, task):
    data = upload(api, task).json()
    assert api_for(viewer).delete(f"/api/attachments/{data['id']}/").status_code == 403
    assert api.delete(f"/api/attachments/{data['id']}/").status_code == 204
    assert not Attachment.objects.exists()


# --- comments ------------------------------------------------------------------------------


def test_comment_mentions_and_edit(api, api_for, task, owner, viewer, outsider, user):
    r = api.post(f"/api/tasks/{task.pk}/comments/", {"body": "@alice @dave see this; @eve too @nobody"}, format="json")
    assert r.status_code == 201, r.content
    assert sorted(r.json()["mentions"]) == ["alice", "dave"]
    cid = r.json()["id"]
    assert Comment.objects.get(pk=cid).mentions.count() == 2
    assert api_for(owner).patch(f"/api/comments/{cid}/", {"body": "x", "version": 1}, format="json").status_code == 403
    assert api.patch(f"/api/comments/{cid}/", {"body": "x"}, format="json").status_code == 400
    r = api.patch(f"/api/comments/{cid}/", {"body": "edited @alice", "version": 1}, format="json")
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["mentions"] == ["alice"]
    assert api.patch(f"/api/comments/{cid}/", {"body": "again", "version": 1}, format="json").status_code == 409
    listing = api_for(viewer).get(f"/api/tasks/{task.pk}/comments/").json()
    assert listing["count"] == 1
    assert api_for(outsider).get(f"/api/comments/{cid}/").status_code == 404
    assert api.post(f"/api/tasks/{task.pk}/comments/", {"body": "x" * 10_001}, format="json").status_code == 400
    assert api.post(f"/api/tasks/{task.pk}/comments/", {"body": "   "}, format="json").status_code == 400
    assert api_for(owner).delete(f"/api/comments/{cid}/").status_code == 204  # owners moderate


def test_parse_mentions():
    assert services.parse_mentions("hi @bob, @carol. and me@mail.com @bob") == ["bob", "carol"]


# --- history -------------------------------------------------------------------------------


def test_history_lists_field_changes_with_who_and_when(api, api_for, owner, task, statuses, user):
    api.patch(f"/api/tasks/{task.pk}/", {"title": "Renamed", "version": 1}, format="json")
    api_for(owner).patch(
        f"/api/tasks/{task.pk}/", {"status": statuses[2].pk, "priority": 4, "version": 2}, format="json"
    )
    history = api.get(f"/api/tasks/{task.pk}/history/").json()
    assert [h["version"] for h in history] == [1, 2, 3]
    assert history[1]["by"]["username"] == "bob" and history[1]["at"]
    assert history[1]["changes"] == [{"field": "title", "old": history[1]["changes"][0]["old"], "new": "Renamed"}]
    changed = {c["field"]: (c["old"], c["new"]) for c in history[2]["changes"]}
    assert changed["status"] == (statuses[0].pk, statuses[2].pk)
    assert changed["priority"] == (2, 4)
    assert history[2]["by"]["username"] == "alice"


def test_oversize_refused_before_parsing(api, task, settings):
    settings.UPLOAD_MAX_BYTES = 10
    r = upload(api, task, content=b"x" * (80 * 1024))
    assert r.status_code == 413 and r.json()["error"]["details"]["max_bytes"] == 10
    assert not Attachment.objects.exists()
