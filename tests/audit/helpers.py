"""Bypass the append-only triggers on purpose (tamper tests), per vendor."""

from contextlib import contextmanager

from django.db import connection

from audit import triggers


@contextmanager
def triggers_off():
    """Edit behind the application's back, inside the test's transaction.

    PostgreSQL: session_replication_role = replica skips ordinary triggers (what a
    superuser could do by hand). SQLite: drop the triggers; DDL rolls back with the test.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        else:
            for sql in triggers.SQLITE_REMOVE:
                cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = origin")
            else:
                triggers.install(connection)


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def values(entry_or_pk) -> dict:
    """The stored row as the sealer hashes it."""
    from audit.models import AuditLog

    pk = getattr(entry_or_pk, "pk", entry_or_pk)
    return AuditLog.objects.filter(pk=pk).values()[0]


def rehash_from(first_pk: int, *, key: bytes, **edits):
    """Rewrite the chain from `first_pk` on, as an attacker with owner rights would:
    apply `edits` to that row, then recompute every later seal with `key`."""
    from audit.models import AuditLog
    from audit.sealing import row_hash

    rows = list(AuditLog.objects.filter(seq__gte=AuditLog.objects.get(pk=first_pk).seq).order_by("seq").values())
    prev = rows[0]["prev_hash"]
    with triggers_off():
        for row in rows:
            if row["id"] == first_pk:
                row.update(edits)
            row["prev_hash"] = prev
            prev = row_hash(row, key=key)
            AuditLog.objects.filter(pk=row["id"]).update(
                **{k: row[k] for k in edits if row["id"] == first_pk}, prev_hash=row["prev_hash"], hash=prev
            )
