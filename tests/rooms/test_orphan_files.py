"""Uploads never outlive their rows: a failed write deletes what it stored, the sweep the rest."""

import os
import time

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from rooms import services as room_services
from rooms.models import RoomFile
from tasks import services as task_services
from tasks.models import Attachment
from tests.rooms.test_files import png
from tests.tasks.factories import TaskFactory, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def stored_files(media) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())


def refuse(*args, **kwargs):
    raise RuntimeError("the database said no")


def test_a_failed_room_upload_takes_its_file_and_thumbnail_back(room, user, media, monkeypatch):
    monkeypatch.setattr(room_services.files, "audit_record", refuse)
    upload = SimpleUploadedFile("gauge.png", png(), content_type="image/png")
    with pytest.raises(RuntimeError):
        room_services.file_upload(room=room, by=user, upload=upload)
    assert not RoomFile.objects.exists()
    assert stored_files(media) == []


def test_a_failed_attachment_takes_its_file_back(user, media, monkeypatch):
    task = TaskFactory(project=make_project(user))
    monkeypatch.setattr(task_services.discussion.audit, "record", refuse)
    with pytest.raises(RuntimeError):
        task_services.attachment_create(
            task=task, by=user, upload=SimpleUploadedFile("log.txt", b"line 1", content_type="text/plain")
        )
    assert not Attachment.objects.exists()
    assert stored_files(media) == []


def age(name: str, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(default_storage.path(name), (then, then))


def test_the_sweep_deletes_old_files_no_row_refers_to(room, user, media, capsys):
    kept = room_services.file_upload(
        room=room, by=user, upload=SimpleUploadedFile("gauge.png", png(), content_type="image/png")
    )
    task = TaskFactory(project=make_project(user))
    attachment = task_services.attachment_create(
        task=task, by=user, upload=SimpleUploadedFile("log.txt", b"line 1", content_type="text/plain")
    )
    stray_room = default_storage.save(f"rooms/{room.pk}/stray.pdf", SimpleUploadedFile("x", b"%PDF-1"))
    stray_attachment = default_storage.save(f"attachments/{task.project_id}/stray.txt", SimpleUploadedFile("x", b"1"))
    young = default_storage.save(f"rooms/{room.pk}/young.txt", SimpleUploadedFile("x", b"in flight"))
    for name in (kept.file.name, kept.thumbnail.name, attachment.file.name, stray_room, stray_attachment):
        age(name, 48)

    call_command("sweep_orphan_files", "--dry-run")
    assert f"would delete {stray_room}" in capsys.readouterr().out
    assert default_storage.exists(stray_room)  # a dry run deletes nothing

    call_command("sweep_orphan_files")
    out = capsys.readouterr().out
    assert "checked 6 file(s), 2 orphan(s)" in out
    assert not default_storage.exists(stray_room) and not default_storage.exists(stray_attachment)
    for name in (kept.file.name, kept.thumbnail.name, attachment.file.name, young):
        assert default_storage.exists(name), name
