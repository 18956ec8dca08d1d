"""Migration 0004: rows of the old sha256 chain are verified, then re-sealed with the HMAC chain."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from audit import services as audit
from audit.models import AuditLog
from tests.audit.factories import make_entries
from tests.audit.helpers import raw, triggers_off

pytestmark = pytest.mark.django_db

migration = importlib.import_module("audit.migrations.0004_reseal_legacy_rows")


def make_legacy_rows(n: int, user) -> list[int]:
    """Rows as the previous release wrote them: a plain sha256 chain in id order, no seq."""
    ids = [e.pk for e in make_entries(n, actor=user)]
    if connection.vendor == "postgresql":
        raw("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred FK checks
        raw("ALTER TABLE audit_auditlog DROP CONSTRAINT auditlog_sealed_whole")  # rolled back with the test
    else:
        raw("PRAGMA ignore_check_constraints = 1")
    prev = migration.LEGACY_GENESIS
    with triggers_off():
        for row in AuditLog.objects.filter(pk__in=ids).order_by("id").values():
            row["prev_hash"] = prev
            prev = migration.legacy_row_hash(row)
            sql = "UPDATE audit_auditlog SET prev_hash = %s, hash = %s WHERE id = %s"
            raw(sql, [row["prev_hash"], prev, row["id"]])
    return ids


@pytest.fixture(autouse=True)
def _check_constraints_back():
    yield
    if connection.vendor == "sqlite":
        raw("PRAGMA ignore_check_constraints = 0")


def test_an_intact_legacy_chain_is_resealed_in_id_order(user):
    ids = make_legacy_rows(4, user)
    with triggers_off():
        migration.reseal(apps, None)
    assert list(AuditLog.objects.order_by("seq").values_list("seq", "id")) == list(enumerate(ids, start=1))
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 4 and result["unsealed"]["count"] == 0
    make_entries(1, actor=user)
    assert audit.seal_pending() == 1 and audit.verify_chain()["checked"] == 5  # the sealer carries on


def test_a_broken_legacy_chain_is_not_laundered(user):
    ids = make_legacy_rows(3, user)
    with triggers_off():
        raw("UPDATE audit_auditlog SET object_id = 'forged' WHERE id = %s", [ids[1]])
        with pytest.raises(RuntimeError, match=f"#{ids[1]}"):
            migration.reseal(apps, None)
    assert not AuditLog.objects.filter(seq__isnull=False).exists()
