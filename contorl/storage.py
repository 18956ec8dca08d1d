"""Where uploads live: the filesystem (embedded default) or an S3-compatible bucket.

Task attachments, room files and thumbnails all go through Django's default storage
(FileField / default_storage), so pointing STORAGES["default"] at django-storages' S3
backend moves every one of them. Files are private: no public ACL, and every download
passes the app's permission check first. The app then either streams the object (default;
works when browsers cannot reach the bucket) or, with S3_DOWNLOADS=redirect, answers with
a 302 to a presigned URL that expires after S3_PRESIGNED_EXPIRY seconds.

Variables:
  STORAGE_URL            s3://bucket[/prefix]   (unset: files under MEDIA_ROOT)
  S3_ENDPOINT_URL        http://minio:9000 for MinIO / Ceph / other S3-compatible stores
  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   (unset: boto3's usual chain, e.g. an IAM role)
  AWS_S3_REGION_NAME     default us-east-1
  S3_ADDRESSING_STYLE    path (default, what MinIO wants) or virtual
  S3_DOWNLOADS           stream (default) or redirect
  S3_PRESIGNED_EXPIRY    seconds a presigned download URL stays valid (default 300)
"""

import logging
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import quote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from django.utils import timezone

from contorl.errors import NotFound

log = logging.getLogger("contorl.storage")

S3_BACKEND = "storages.backends.s3.S3Storage"


def storage_settings_from_env(env, url: str) -> dict:
    """STORAGES["default"] for STORAGE_URL (called by settings.py; must not import models)."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ImproperlyConfigured("STORAGE_URL must look like s3://bucket or s3://bucket/prefix")
    options = {
        "bucket_name": parsed.netloc,
        "location": parsed.path.strip("/"),
        "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
        "addressing_style": env.str("S3_ADDRESSING_STYLE", default="path"),
        "signature_version": "s3v4",
        "default_acl": None,  # private objects; the bucket policy decides, never public-read
        "querystring_auth": True,
        "querystring_expire": env.int("S3_PRESIGNED_EXPIRY", default=300),
        "file_overwrite": False,  # two uploads with one name must not clobber each other
    }
    access_key = env.str("AWS_ACCESS_KEY_ID", default="")
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = env.str("AWS_SECRET_ACCESS_KEY", default="")
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def is_s3(storage) -> bool:
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def presigned_url(storage, name: str, *, filename: str, content_type: str, expire: int | None = None) -> str:
    """A short-lived GET URL that makes the browser save the object as `filename`."""
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return storage.url(
        name,
        parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type},
        expire=expire or int(settings.S3_PRESIGNED_EXPIRY),
    )


def download_response(field_file, *, filename: str, content_type: str = "application/octet-stream"):
    """The one way to hand a stored file to a client whose permission was already checked."""
    storage = field_file.storage
    if settings.S3_DOWNLOADS == "redirect" and is_s3(storage):
        response = HttpResponseRedirect(
            presigned_url(storage, field_file.name, filename=filename, content_type=content_type)
        )
        response["Cache-Control"] = "private, no-store"  # the signed URL must not outlive its check
        return response
    try:
        handle = field_file.open("rb")
    except FileNotFoundError:
        raise NotFound("The file is missing from storage.") from None
    response = FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- files no row refers to ----------------------------------------------------------------
# An upload is stored before its row is inserted. A failed write deletes what it stored
# (`discarded_on_error`); what a rollback after that, or a crash, leaves behind is found by
# `sweep_orphans` (daily, Celery beat). Apps name their top folder and how to read which
# names their rows still use under one of its subfolders (AppConfig.ready()).
STORED_FILE_FOLDERS: dict[str, Callable[[str], set[str]]] = {}


def register_stored_files(top: str, referenced: Callable[[str], set[str]]) -> None:
    STORED_FILE_FOLDERS[top] = referenced


def _delete_quietly(storage, name: str) -> bool:
    try:
        storage.delete(name)
        return True
    except Exception as exc:  # the sweep will try again; the caller's own error matters more
        log.warning("could not delete stored file: %s", exc.__class__.__name__)
        return False


@contextmanager
def discarded_on_error(storage):
    """Collect the names a write stores; if the write fails, they are deleted again."""
    saved: list[str] = []
    try:
        yield saved
    except BaseException:
        for name in saved:
            _delete_quietly(storage, name)
        raise


def _listdir(storage, path: str) -> tuple[list[str], list[str]]:
    try:
        return storage.listdir(path)
    except (FileNotFoundError, NotADirectoryError):
        return [], []


def _files_under(storage, folder: str) -> list[str]:
    dirs, files = _listdir(storage, folder)
    names = [f"{folder}/{f}" for f in files]
    for sub in dirs:
        names.extend(_files_under(storage, f"{folder}/{sub}"))
    return names


def sweep_orphans(*, min_age: timedelta, dry_run: bool = False, storage=None) -> dict:
    """Delete stored files older than `min_age` that no row refers to."""
    storage = storage or default_storage
    cutoff = timezone.now() - min_age
    checked, orphans = 0, []
    for top, referenced in STORED_FILE_FOLDERS.items():
        for sub in _listdir(storage, top)[0]:
            folder = f"{top}/{sub}"
            names = _files_under(storage, folder)
            if not names:
                continue
            keep = referenced(folder)
            for name in names:
                checked += 1
                # Young files may belong to a write that has not committed yet.
                if name in keep or storage.get_modified_time(name) > cutoff:
                    continue
                if dry_run or _delete_quietly(storage, name):
                    orphans.append(name)
    if orphans and not dry_run:
        log.info("swept orphan files", extra={"event": "orphan_files_swept", "count": len(orphans)})
    return {"checked": checked, "orphans": orphans, "deleted": 0 if dry_run else len(orphans)}
