"""Room file uploads: storage names, name tricks, size and type checks, thumbnails, access."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from rooms.models import Message, RoomFile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.RATELIMIT_HEAVY = "100/m"
    return tmp_path / "media"


def png(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def upload(api, room, name, data, content_type):
    return api.post(
        f"/api/rooms/{room.pk}/files/",
        {"file": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


def test_image_upload_gets_thumbnail_and_image_ref_message(api, room, media):
    r = upload(api, room, "壓力表.png", png(), "image/png")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["is_image"] and body["width"] == 640 and body["name"] == "壓力表.png" and body["thumbnail_url"]
    stored = RoomFile.objects.get(pk=body["id"])
    assert "壓力表" not in stored.file.name and stored.file.name.startswith(f"rooms/{room.pk}/")
    with Image.open(stored.thumbnail.path) as thumb:
        assert max(thumb.size) <= 320
    msg = api.post(
        f"/api/rooms/{room.pk}/messages/",
        {"content": "gauge", "message_type": "image_ref", "metadata": {"file_id": body["id"]}},
        format="json",
    )
    assert msg.status_code == 201 and msg.json()["metadata"]["file"]["id"] == body["id"]
    download = api.get(body["url"])
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == stored.file.open("rb").read()
    assert api.get(body["thumbnail_url"]).status_code == 200


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd.txt",
        "/etc/passwd.txt",
        "a\x00b.txt",
        "C:\\evil.txt",
        "..\\x.txt",
        "．．／x.txt",
        "gnp\u202etxt.exe.txt",
        ".htaccess",
    ],
)
def test_name_tricks_are_refused(api, room, name):
    # Built by hand: Django's test client would strip the directory part before sending.
    boundary = "contorlboundary"
    body = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    r = api.generic(
        "POST", f"/api/rooms/{room.pk}/files/", body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", (name, r.content)
    assert not RoomFile.objects.exists()


def test_too_large_is_413(api, room, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    r = upload(api, room, "big.txt", b"x" * 1001, "text/plain")
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    assert not RoomFile.objects.exists()


@pytest.mark.parametrize(
    "name,data,content_type",
    [
        ("fake.png", b"not an image at all", "image/png"),
        ("doc.pdf", b"MZ\x90\x00 executable", "application/pdf"),
        ("run.exe", b"MZ", "application/x-msdownload"),
        ("photo.jpg", png(), "image/jpeg"),  # PNG bytes declared as JPEG
        ("image.png", b"hello", "text/plain"),  # extension does not match the type
    ],
)
def test_content_type_checks(api, room, name, data, content_type):
    r = upload(api, room, name, data, content_type)
    assert r.status_code == 400, r.content
    assert not RoomFile.objects.exists()


def test_downloads_are_permission_checked(api, api_for, room, other_user, viewer):
    body = upload(api, room, "notes.txt", b"torque 45 Nm", "text/plain").json()
    assert api_for(other_user).get(body["url"]).status_code == 404
    assert api_for(viewer).get(body["url"]).status_code == 200
    assert upload(api_for(viewer), room, "v.txt", b"x", "text/plain").status_code == 403
    assert upload(api_for(other_user), room, "o.txt", b"x", "text/plain").status_code == 404


def test_file_ref_must_point_into_the_same_room(api, room, user):
    from tests.rooms.factories import make_room

    other = make_room(user, title="Other")
    body = upload(api, other, "notes.txt", b"x", "text/plain").json()
    r = api.post(
        f"/api/rooms/{room.pk}/messages/",
        {"content": "see", "message_type": "file_ref", "metadata": {"file_id": body["id"]}},
        format="json",
    )
    assert r.status_code == 400
    assert not Message.objects.filter(room=room, message_type="file_ref").exists()


@pytest.mark.parametrize(
    "part",
    [
        # (field name, file name or None for a text field, value)
        ("note", None, "nul\x00here"),
        ("no\x00te", None, "plain"),
        ("file", "a\x00b.txt", "hello"),
        ("fi\x00le", "ok.txt", "hello"),
    ],
    ids=["field value", "field name", "file name", "file field name"],
)
def test_nul_anywhere_in_the_form_is_refused(api, room, part):
    field, filename, value = part
    # Built by hand: the test client would not send NUL in names; a real client can.
    boundary = "contorlboundary"
    disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename else "")
    parts = [f"Content-Disposition: {disposition}\r\nContent-Type: text/plain\r\n\r\n{value}\r\n"]
    if filename is None or field != "file":  # a valid file beside the bad part
        parts.append(
            'Content-Disposition: form-data; name="file"; filename="ok.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        )
    body = "".join(f"--{boundary}\r\n{p}" for p in parts) + f"--{boundary}--\r\n"
    messages = Message.objects.count()
    r = api.generic(
        "POST",
        f"/api/rooms/{room.pk}/files/",
        body.encode(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert r.status_code == 400, r.content
    assert r.json()["error"]["code"] == "validation_error"
    assert not RoomFile.objects.exists() and Message.objects.count() == messages


def test_a_form_without_nul_still_uploads(api, room):
    boundary = "contorlboundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="note"\r\n\r\nplain\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="ok.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    r = api.generic(
        "POST", f"/api/rooms/{room.pk}/files/", body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert r.status_code == 201, r.content
    assert RoomFile.objects.get().original_name == "ok.txt"
