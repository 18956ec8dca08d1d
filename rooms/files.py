"""Upload checks for room files: names, size, declared vs actual type, thumbnails.

The user's file name is display text only. Storage names are generated here
(`rooms/<room>/<uuid><ext>`), so no name trick can reach the file system; names that
try one anyway (traversal, NUL, absolute paths, control or bidi characters) are refused
outright so the attempt is visible.
"""

import io
import mimetypes
import os
import unicodedata
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from contorl.errors import PayloadTooLarge, ValidationFailed

IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
OTHER_TYPES = {
    "application/pdf": b"%PDF-",
    "text/plain": None,
    "text/csv": None,
    "application/json": None,
    "application/zip": b"PK\x03\x04",
}
EXTENSIONS = {
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
    "application/pdf": {".pdf"},
    "text/plain": {".txt", ".log"},
    "text/csv": {".csv"},
    "application/json": {".json"},
    "application/zip": {".zip"},
}
MAX_PIXELS = 40_000_000  # refuse decompression bombs long before Pillow's own limit
THUMB_SIZE = (320, 320)
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f"}


def clean_name(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw or "")
    folded = unicodedata.normalize("NFKC", name)  # full-width ／ ＼ ． fold to / \\ .
    bad = (
        not name
        or len(name) > 200
        or any(c in folded for c in "/\\\x00")
        or folded.startswith(".")
        or ".." in folded
        or (len(folded) > 1 and folded[1] == ":")  # C:foo
        or any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or ch in _BIDI for ch in name)
    )
    if bad:
        raise ValidationFailed.field("file", _("This file name is not allowed."))
    return name


def check_upload(upload) -> tuple[str, str, str]:
    """(clean name, content type, extension) or a DomainError. Nothing is written here."""
    if upload is None:
        raise ValidationFailed.field("file", _("No file was submitted."))
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise PayloadTooLarge(_("Files are limited to %(max)s bytes.") % {"max": settings.UPLOAD_MAX_BYTES})
    name = clean_name(upload.name)
    ext = os.path.splitext(name)[1].lower()
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_type(name)[0]
    content_type = declared if declared and declared != "application/octet-stream" else (guessed or "")
    if content_type not in EXTENSIONS:
        raise ValidationFailed.field("file", _("This file type is not allowed."))
    if ext not in EXTENSIONS[content_type]:
        raise ValidationFailed.field("file", _("The file extension does not match its type."))
    head = upload.read(8)
    upload.seek(0)
    magic = OTHER_TYPES.get(content_type)
    if magic is not None and not head.startswith(magic):
        raise ValidationFailed.field("file", _("The file content does not match its type."))
    return name, content_type, ext


def storage_name(room_id: int, ext: str, *, thumb: bool = False) -> str:
    folder = f"rooms/{room_id}/thumbs" if thumb else f"rooms/{room_id}"
    return f"{folder}/{uuid.uuid4().hex}{'.png' if thumb else ext}"


def make_thumbnail(upload, content_type: str) -> tuple[ContentFile, int, int]:
    """Verify an image really is one of the declared format and render a PNG thumbnail."""
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            if probe.format != IMAGE_TYPES[content_type]:
                raise ValidationFailed.field("file", _("The file content does not match its type."))
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed.field("file", _("The image is too large."))
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as img:
            img.thumbnail(THUMB_SIZE)
            if img.mode not in ("RGB", "RGBA"):
                img = img.convert("RGBA")
            out = io.BytesIO()
            img.save(out, format="PNG")
    except (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValidationFailed.field("file", _("The image could not be read.")) from exc
    finally:
        upload.seek(0)
    return ContentFile(out.getvalue()), width, height
