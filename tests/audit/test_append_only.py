"""The database itself refuses UPDATE and DELETE of audit rows (triggers from a migration)."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit import triggers
from audit.models import AuditLog
from tests.audit.factories import make_entries
from tests.audit.helpers import raw

pytestmark = pytest.mark.django_db


def test_triggers_are_installed_by_the_migration():
    assert triggers.missing(connection) == set()
    assert triggers.installed(connection) == triggers.TRIGGER_NAMES[connection.vendor]


def test_raw_sql_update_is_refused(user):
    entry = make_entries(1, actor=user)[0]
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        raw("UPDATE audit_auditlog SET event_type = %s WHERE id = %s", ["forged", entry.pk])
    entry.refresh_from_db()
    assert entry.event_type == "test.event"


def test_raw_sql_delete_is_refused(user):
    entry = make_entries(1, actor=user)[0]
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        raw("DELETE FROM audit_auditlog WHERE id = %s", [entry.pk])
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_orm_update_and_delete_are_refused_too(user):
    entry = make_entries(1, actor=user)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).update(object_id="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditLog.objects.filter(pk=entry.pk).delete()
    assert AuditLog.objects.filter(pk=entry.pk, object_id="").exists()


@pytest.mark.postgres
def test_postgresql_refuses_update_delete_and_truncate(postgres, user):
    entry = make_entries(1, actor=user)[0]
    raw("SET CONSTRAINTS ALL IMMEDIATE")  # else TRUNCATE stops at the pending FK checks first
    for sql, params in (
        ("UPDATE audit_auditlog SET changes = '{}'::jsonb WHERE id = %s", [entry.pk]),
        ("DELETE FROM audit_auditlog WHERE id = %s", [entry.pk]),
        ("TRUNCATE audit_auditlog", []),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw(sql, params)
    assert AuditLog.objects.filter(pk=entry.pk).exists()


def test_flush_lifts_and_restores_the_triggers(user):
    from django.core.management import call_command

    make_entries(2, actor=user)
    if connection.vendor == "postgresql":
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending deferred FK checks
    call_command("flush", interactive=False, verbosity=0)
    assert AuditLog.objects.count() == 0
    assert triggers.missing(connection) == set()


def test_dropped_triggers_come_back_after_migrate(user):
    from audit.apps import ensure_triggers

    with connection.cursor() as cursor:
        for sql in triggers.SQLITE_REMOVE if connection.vendor == "sqlite" else triggers.POSTGRES_REMOVE[:3]:
            cursor.execute(sql)
    assert triggers.missing(connection)
    ensure_triggers(sender=None, using="default")
    assert triggers.missing(connection) == set()
