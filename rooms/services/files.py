"""Room file uploads: checked, stored (with a thumbnail for images), announced."""

from django.core.files.storage import default_storage
from django.db import transaction

from audit.services import Sensitivity
from audit.services import record as audit_record
from contorl import events
from contorl.storage import discarded_on_error

from .. import files as room_files
from .. import payloads
from ..models import Room, RoomFile
from ..permissions import require_write


@transaction.atomic
def file_upload(*, room: Room, by, upload) -> RoomFile:
    require_write(room, by)
    name, content_type, ext = room_files.check_upload(upload)
    width = height = None
    thumb_name = ""
    with discarded_on_error(default_storage) as saved:
        if content_type in room_files.IMAGE_TYPES:
            thumb, width, height = room_files.make_thumbnail(upload, content_type)
            thumb_name = default_storage.save(room_files.storage_name(room.pk, ext, thumb=True), thumb)
            saved.append(thumb_name)
        stored = default_storage.save(room_files.storage_name(room.pk, ext), upload)
        saved.append(stored)
        room_file = RoomFile.objects.create(
            room=room,
            uploaded_by=by,
            file=stored,
            thumbnail=thumb_name,
            original_name=name,
            content_type=content_type,
            size=upload.size,
            width=width,
            height=height,
        )
        events.publish(events.room_group(room.pk), "file_uploaded", payloads.file_payload(room_file), actor=by)
        audit_record("room.file_upload", actor=by, obj=room_file, sensitivity=Sensitivity.LOW, changes={"name": name})
    return room_file
