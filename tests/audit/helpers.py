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
