"""The sealer: the only writer of the hash chain.

`audit.record()` inserts rows unsealed, inside the caller's transaction, without any lock
and without reading the chain, so audited transactions no longer queue behind each other.
`seal_pending()` then extends the chain in a short transaction of its own: it takes the
chain lock (a transaction-scoped PostgreSQL advisory lock; SQLite's BEGIN IMMEDIATE is
already the single write lock), reads the head, and gives every committed unsealed row,
in id order, the next position `seq` and its HMAC.

Why a chain position instead of chaining by id: ids are handed out at INSERT but rows
become visible at COMMIT, so under concurrency id 41 can commit after id 42 was sealed.
Chaining by id would have to wait for (or guess about) every lower id still in flight, and
a rolled-back id would leave a gap nobody can tell from a deleted row. The sealer instead
seals only what it can see; a row that commits late simply gets a later position, so no
row is ever skipped and no grace period is needed. The chain order is the seal order.

It runs after the commit of every transaction that recorded a row (transaction.on_commit)
and on Celery beat as a safety net (a crash between commit and callback, or a sealer that
failed, leaves rows unsealed until the next beat). Sealing twice is harmless: the second
run finds nothing unsealed.

With `AUDIT_SEAL_IN_BACKGROUND` (on with PostgreSQL) the after-commit run is not made on the
request's thread: it wakes one sealer thread per process, which seals everything committed
so far in one pass. A write then answers without the sealer's six round trips, and under load
one pass chains the rows of many requests instead of one pass per request.
"""

import datetime
import json
import logging
import os
import threading

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections, connection, connections, transaction

from contorl import bulk
from contorl.transactions import on_commit_once

from . import keys
from .models import GENESIS_HASH, AuditLog

log = logging.getLogger("contorl.audit")

# Arbitrary but fixed: the key of the pg_advisory_xact_lock held by the sealer only.
SEAL_LOCK_KEY = 0x434F4E54  # "CONT"

CONTENT_FIELDS = (
    "event_type",
    "sensitivity",
    "actor_id",
    "object_type",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "created_at",
)
HASHED_FIELDS = ("id", "seq", *CONTENT_FIELDS, "prev_hash")
ROW_PURPOSE = b"contorl-audit-row-v2"


def canonical_time(value) -> str:
    return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def canonical_row(values: dict) -> str:
    content = {name: values[name] for name in HASHED_FIELDS}
    content["created_at"] = canonical_time(content["created_at"])
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)


def row_hash(values: dict, *, key: bytes | None = None) -> str:
    """HMAC-SHA256 (AUDIT_HMAC_KEY) over canonical JSON of id, seq, content and prev_hash."""
    return keys.mac(ROW_PURPOSE, canonical_row(values), key=key)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
    # SQLite: this transaction is BEGIN IMMEDIATE (settings), the database's one write lock.


def chain_head() -> tuple[int, str]:
    """(seq, hash) of the newest sealed row, or (0, GENESIS_HASH) for an empty chain."""
    head = AuditLog.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
    return head or (0, GENESIS_HASH)


def _seal_batch(key: bytes, batch_size: int) -> int:
    with transaction.atomic():
        _lock_chain()
        rows = list(AuditLog.objects.filter(seq__isnull=True).order_by("id").values("id", *CONTENT_FIELDS)[:batch_size])
        if not rows:
            return 0  # the usual case when sealers queue up: the one before sealed our rows too
        # Read under the lock: the previous sealer has committed, so this is the real head.
        seq, prev = chain_head()
        sealed = []
        for row in rows:
            seq += 1
            row.update(seq=seq, prev_hash=prev)
            prev = row_hash(row, key=key)
            sealed.append(AuditLog(pk=row["id"], seq=seq, prev_hash=row["prev_hash"], hash=prev))
        bulk.update_columns(AuditLog, sealed, ["seq", "prev_hash", "hash"])
    return len(rows)


def seal_pending(*, batch_size: int = 500) -> int:
    """Seal every committed unsealed row, oldest id first; returns how many were sealed."""
    key = keys.hmac_key()
    total = 0
    while True:
        count = _seal_batch(key, batch_size)
        total += count
        if count < batch_size:
            break
    if total:
        log.info("audit rows sealed", extra={"event": "audit_sealed", "count": total})
    return total


def seal_and_anchor() -> int:
    """seal_pending(), then an anchor if the last one is older than AUDIT_ANCHOR_INTERVAL."""
    from . import anchors

    count = seal_pending()
    if count:
        anchors.anchor_if_due()
    return count


def _seal_after_commit() -> None:
    # The business transaction has committed already: a failing sealer must not turn the
    # caller's success into an error. The rows stay unsealed until beat seals them.
    try:
        seal_and_anchor()
    except Exception:
        log.exception("audit sealing failed; Celery beat will retry", extra={"event": "audit_seal_failed"})


class BackgroundSealer:
    """One thread per process that runs seal_and_anchor() when woken; wakes that arrive
    during a pass are served by one more pass, so a burst of writes costs a pass or two.

    A woken thread waits `AUDIT_SEAL_LINGER` seconds before its pass, so the rows of the
    writes that commit meanwhile share it: a pass costs about as much as a task PATCH
    (lock, read, hash, update, anchor check), and at a steady 100 writes/s one pass per
    write doubled the process's CPU per write (bench/PROFILE.md, sixth session). Someone
    waiting for the chain (wait_idle) cuts the linger short.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._requested = 0  # wake-ups asked for
        self._served = 0  # wake-ups covered by a finished pass
        self._hurry = 0  # callers in wait_idle(): no linger while any waits
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._cond:
            self._requested += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once every wake asked for before this call has been served by a pass."""
        with self._cond:
            target = self._requested
            self._hurry += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._served >= target, timeout)
            finally:
                self._hurry -= 1

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._requested > self._served)
                self._cond.wait_for(lambda: self._hurry > 0, settings.AUDIT_SEAL_LINGER)
                target = self._requested
            try:
                close_old_connections()
                _seal_after_commit()
            finally:
                # A pooled connection goes back to the pool between passes instead of
                # staying checked out by an idle thread.
                connections.close_all()
                with self._cond:
                    self._served = target
                    self._cond.notify_all()

    def _forget_after_fork(self) -> None:
        self.__init__()  # a forked child (Celery prefork) starts its own thread when needed


background = BackgroundSealer()
os.register_at_fork(after_in_child=background._forget_after_fork)


def _wake_background_sealer() -> None:
    background.wake()


def seal_after_commit() -> None:
    """Ask for one sealer run after the current transaction commits (once per transaction)."""
    # A run already queued in this savepoint or an enclosing one lives as long as our row
    # does (rolling it back rolls our row back too), so it will seal this row as well.
    on_commit_once(_wake_background_sealer if settings.AUDIT_SEAL_IN_BACKGROUND else _seal_after_commit)
