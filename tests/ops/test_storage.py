"""S3-compatible storage against moto's standalone S3 server (a real HTTP S3 API on loopback)."""

import datetime
import io
import uuid
from urllib.parse import parse_qs, urlparse

import boto3
import environ
import httpx
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from contorl import storage
from tasks import services as task_services
from tests.board.factories import make_project, make_task
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def bucket(moto_server, settings, monkeypatch):
    """A fresh bucket, and default storage pointed at it exactly as STORAGE_URL would."""
    name = f"contorl-{uuid.uuid4().hex[:10]}"
    for key, val in {
        "S3_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_S3_REGION_NAME": "us-east-1",
    }.items():
        monkeypatch.setenv(key, val)
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket=name)
    # STORAGES is a nested dict: assign a new one so Django's setting_changed resets default_storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": storage.storage_settings_from_env(environ.Env(), f"s3://{name}/media"),
    }
    return s3, name


def keys(s3, name) -> list[str]:
    return sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket=name).get("Contents", []))


def test_storage_url_builds_a_private_s3_backend(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://minio:9000")
    config = storage.storage_settings_from_env(environ.Env(), "s3://plant-files/contorl/")
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    options = config["OPTIONS"]
    assert (options["bucket_name"], options["location"], options["endpoint_url"]) == (
        "plant-files",
        "contorl",
        "http://minio:9000",
    )
    assert options["default_acl"] is None and options["querystring_auth"] and not options["file_overwrite"]
    with pytest.raises(Exception, match="STORAGE_URL"):
        storage.storage_settings_from_env(environ.Env(), "https://plant-files")


def test_upload_read_back_and_presigned_url(bucket):
    s3, name = bucket
    assert storage.is_s3(default_storage)

    stored = default_storage.save("reports/line-3.txt", ContentFile(b"spindle overheated"))

    assert keys(s3, name) == [f"media/{stored}"]
    with default_storage.open(stored) as handle:
        assert handle.read() == b"spindle overheated"
    url = storage.presigned_url(default_storage, stored, filename="Line 3 報告.txt", content_type="text/plain")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"spindle overheated"
    assert "attachment" in response.headers["content-disposition"]


def test_presigned_url_carries_a_short_signed_validity_window(bucket, settings):
    """moto serves presigned URLs but does not enforce their expiry (real S3 and MinIO do, with
    403 AccessDenied "Request has expired"), so check what we control: the signed window."""
    stored = default_storage.save("short.txt", ContentFile(b"brief"))

    default_url = storage.presigned_url(default_storage, stored, filename="short.txt", content_type="text/plain")
    short_url = storage.presigned_url(
        default_storage, stored, filename="short.txt", content_type="text/plain", expire=30
    )

    for url, seconds in ((default_url, settings.S3_PRESIGNED_EXPIRY), (short_url, 30)):
        query = parse_qs(urlparse(url).query)
        assert query["X-Amz-Expires"] == [str(seconds)]
        signed_at = datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        assert abs((datetime.datetime.now(datetime.UTC) - signed_at).total_seconds()) < 60
        assert httpx.get(url).status_code == 200
    assert settings.S3_PRESIGNED_EXPIRY <= 900  # "short-lived" by default


def test_task_attachment_goes_to_the_bucket_and_downloads_stay_checked(bucket, user, other_user, api_for):
    s3, name = bucket
    project = make_project(user)
    task = make_task(project, user)
    upload = SimpleUploadedFile("torque.csv", b"bolt,nm\nA1,42\n", content_type="text/csv")

    attachment = task_services.attachment_create(task=task, by=user, upload=upload)

    assert f"media/{attachment.file.name}" in keys(s3, name)
    response = api_for(user).get(f"/api/attachments/{attachment.pk}/download/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"bolt,nm\nA1,42\n"
    assert api_for(other_user).get(f"/api/attachments/{attachment.pk}/download/").status_code == 404


def test_room_file_and_thumbnail_go_to_the_bucket(bucket, user, other_user, api_for):
    from rooms import services as room_services

    s3, name = bucket
    room = make_room(user)
    png = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(png, "PNG")
    upload = SimpleUploadedFile("crack.png", png.getvalue(), content_type="image/png")

    room_file = room_services.file_upload(room=room, by=user, upload=upload)

    stored = keys(s3, name)
    assert f"media/{room_file.file.name}" in stored and f"media/{room_file.thumbnail.name}" in stored
    thumb = api_for(user).get(f"/api/room-files/{room_file.pk}/thumbnail/")
    assert thumb.status_code == 200
    assert Image.open(io.BytesIO(b"".join(thumb.streaming_content))).size[0] < 640
    assert api_for(other_user).get(f"/api/room-files/{room_file.pk}/download/").status_code == 404


def test_download_response_redirects_to_a_presigned_url_when_asked(bucket, settings):
    settings.S3_DOWNLOADS = "redirect"
    stored = default_storage.save("manual.pdf", ContentFile(b"%PDF-1.4 tiny"))
    field = default_storage.open(stored)
    field.storage, field.name = default_storage, stored

    response = storage.download_response(field, filename="manual.pdf", content_type="application/pdf")

    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    followed = httpx.get(response["Location"])
    assert followed.status_code == 200 and followed.content == b"%PDF-1.4 tiny"
    assert followed.headers["content-type"] == "application/pdf"


def test_the_orphan_sweep_works_on_the_bucket(bucket, user):
    from datetime import timedelta

    from django.core.files.storage import default_storage

    from rooms import services as room_services

    s3, name = bucket
    room = make_room(user)
    kept = room_services.file_upload(
        room=room, by=user, upload=SimpleUploadedFile("log.txt", b"line 1", content_type="text/plain")
    )
    stray = default_storage.save(f"rooms/{room.pk}/stray.txt", SimpleUploadedFile("x", b"left behind"))

    report = storage.sweep_orphans(min_age=timedelta(0))

    assert report["orphans"] == [stray]
    assert keys(s3, name) == [f"media/{kept.file.name}"]
