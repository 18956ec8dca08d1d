"""Comments (with @mentions) and attachments (safe names, size and type checks)."""

import re
import unicodedata

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl.errors import (
    Forbidden,
    PayloadTooLarge,
    ValidationFailed,
)
from contorl.storage import discarded_on_error
from contorl.versioning import versioned_update
from notifications.services import notify

from .. import permissions
from ..models import (
    Attachment,
    Comment,
    Task,
)

# --- comments ----------------------------------------------------------------------------

MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.+-]{1,150})")


def parse_mentions(body: str) -> list[str]:
    names: dict[str, None] = {}
    for raw in MENTION_RE.findall(body or ""):
        names.setdefault(raw.rstrip(".-+"), None)
    return [n for n in names if n]


def _mentioned_users(task: Task, body: str):
    from contorl.accounts.models import User

    names = parse_mentions(body)[:50]
    if not names:
        return []
    # Only people who can see the project: mentioning an outsider must not leak the task.
    return [
        u
        for u in User.objects.filter(username__in=names, is_active=True)
        if permissions.can_view_project(u, task.project)
    ]


@transaction.atomic
def comment_create(*, task: Task, by, body: str) -> Comment:
    permissions.require_edit(by, task.project)
    if not body or not body.strip():
        raise ValidationFailed.field("body", _("A comment cannot be empty."))
    comment = Comment.objects.create(task=task, author=by, body=body)
    mentioned = _mentioned_users(task, body)
    comment.mentions.set(mentioned)
    audit.record("task.comment_create", actor=by, obj=comment, sensitivity=Sensitivity.LOW)
    if mentioned:
        notify(
            recipients=mentioned,
            type="mention",
            title=(_("%(user)s mentioned you on %(task)s") % {"user": by.display_name, "task": task.title})[:200],
            body=body[:500],
            link=f"/projects/{task.project_id}/tasks/{task.pk}/",
            actor=by,
            data={"task": task.pk, "comment": comment.pk, "project": task.project_id},
        )
    return comment


@transaction.atomic
def comment_update(*, comment: Comment, version: int, by, body: str) -> Comment:
    permissions.require_edit(by, comment.task.project)
    if comment.author_id != by.pk:
        raise Forbidden(_("Only the author can edit a comment."))
    if not body or not body.strip():
        raise ValidationFailed.field("body", _("A comment cannot be empty."))
    before = set(comment.mentions.values_list("pk", flat=True))
    comment = versioned_update(comment, version=version, fields={"body": body}, by=by)
    mentioned = _mentioned_users(comment.task, body)
    comment.mentions.set(mentioned)
    audit.record("task.comment_update", actor=by, obj=comment, sensitivity=Sensitivity.LOW)
    new = [u for u in mentioned if u.pk not in before]
    if new:
        notify(
            recipients=new,
            type="mention",
            title=(_("%(user)s mentioned you on %(task)s") % {"user": by.display_name, "task": comment.task.title})[
                :200
            ],
            body=body[:500],
            link=f"/projects/{comment.task.project_id}/tasks/{comment.task_id}/",
            actor=by,
            data={"task": comment.task_id, "comment": comment.pk, "project": comment.task.project_id},
        )
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by) -> None:
    permissions.require_edit(by, comment.task.project)
    if comment.author_id != by.pk and not permissions.is_project_owner(by, comment.task.project_id):
        raise Forbidden(_("Only the author or a project owner can delete a comment."))
    audit.record("task.comment_delete", actor=by, obj=comment, sensitivity=Sensitivity.LOW)
    comment.delete()


# --- attachments -------------------------------------------------------------------------

ALLOWED_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".zip": "application/zip",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF-",),
    "application/zip": (b"PK\x03\x04", b"PK\x05\x06"),
}
for _ext in (".docx", ".xlsx", ".pptx"):
    MAGIC[ALLOWED_TYPES[_ext]] = MAGIC["application/zip"]
_DANGEROUS_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_filename(name) -> str:
    """The user's file name, for display only, or ValidationFailed.

    Rejected: empty, over 255 chars, NUL/control/format characters (incl. bidi overrides and
    zero-width), any path separator, '..', absolute or drive paths, and names whose NFKC form
    differs (fullwidth dots/slashes and similar look-alikes).
    """

    def bad(reason):
        return ValidationFailed.field("file", _("Unacceptable file name: %(reason)s.") % {"reason": reason})

    if not isinstance(name, str) or not name.strip():
        raise bad(_("empty"))
    if len(name) > 255:
        raise bad(_("longer than 255 characters"))
    if "\x00" in name:
        raise bad(_("contains NUL"))
    if any(unicodedata.category(ch) in _DANGEROUS_CATEGORIES for ch in name):
        raise bad(_("contains control or invisible characters"))
    if unicodedata.normalize("NFKC", name) != name:
        raise bad(_("contains look-alike unicode characters"))
    if "/" in name or "\\" in name:
        raise bad(_("contains a path separator"))
    if name.strip() in (".", "..") or ".." in name.split("."):
        raise bad(_("contains '..'"))
    if re.match(r"^[A-Za-z]:", name) or name.startswith("~"):
        raise bad(_("looks like an absolute path"))
    return name.strip()


@transaction.atomic
def attachment_create(*, task: Task, by, upload, name: str | None = None) -> Attachment:
    permissions.require_edit(by, task.project)
    original = clean_filename(name if name is not None else getattr(upload, "name", ""))
    size = upload.size
    if size > settings.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(
            _("Files may be at most %(max)s bytes.") % {"max": settings.UPLOAD_MAX_BYTES},
            details={"max_bytes": settings.UPLOAD_MAX_BYTES, "size": size},
        )
    if size == 0:
        raise ValidationFailed.field("file", _("The file is empty."))
    ext = ("." + original.rsplit(".", 1)[-1].lower()) if "." in original else ""
    content_type = ALLOWED_TYPES.get(ext)
    if content_type is None:
        raise ValidationFailed.field("file", _("Files of type '%(ext)s' are not accepted.") % {"ext": ext or "none"})
    declared = (getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if declared and declared not in (content_type, "application/octet-stream"):
        raise ValidationFailed.field(
            "file", _("The declared type %(declared)s does not match %(ext)s.") % {"declared": declared, "ext": ext}
        )
    if content_type in MAGIC:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(m) for m in MAGIC[content_type]):
            raise ValidationFailed.field("file", _("The file content does not match its type."))
    attachment = Attachment(task=task, original_name=original, content_type=content_type, size=size, uploaded_by=by)
    with discarded_on_error(attachment.file.storage) as saved:
        attachment.file.save(original, upload, save=False)  # storage name comes from attachment_path()
        saved.append(attachment.file.name)
        attachment.save()
        audit.record(
            "task.attachment_create",
            actor=by,
            obj=attachment,
            sensitivity=Sensitivity.LOW,
            changes={"task": task.pk, "size": size, "content_type": content_type},
        )
    return attachment


@transaction.atomic
def attachment_delete(*, attachment: Attachment, by) -> None:
    permissions.require_edit(by, attachment.task.project)
    if attachment.uploaded_by_id != by.pk and not permissions.is_project_owner(by, attachment.task.project_id):
        raise Forbidden(_("Only the uploader or a project owner can delete an attachment."))
    audit.record("task.attachment_delete", actor=by, obj=attachment, sensitivity=Sensitivity.LOW)
    storage, file_name = attachment.file.storage, attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: storage.delete(file_name))
