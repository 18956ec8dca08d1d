"""Hash chain: every row links to the one before; tampering is found at the row; no forks."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from audit import services as audit
from audit.models import GENESIS_HASH, AuditLog
from tests.audit.factories import make_entries
from tests.audit.helpers import raw, triggers_off


@pytest.mark.django_db
def test_record_fills_every_field_and_links_to_the_previous_row(rf, user):
    first, second = make_entries(2, actor=user)
    request = rf.get("/", REMOTE_ADDR="10.1.2.3")
    request.request_id = "req-42"
    third = audit.record(
        "task.update",
        actor=user,
        obj=user,
        sensitivity=audit.Sensitivity.MEDIUM,
        changes={"title": ["a", "b"], 7: ("x",)},
        request=request,
    )
    assert first.prev_hash == GENESIS_HASH or AuditLog.objects.filter(hash=first.prev_hash).exists()
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    stored = AuditLog.objects.get(pk=third.pk)
    assert (stored.event_type, stored.sensitivity, stored.actor_id) == ("task.update", "medium", user.pk)
    assert (stored.object_type, stored.object_id) == ("accounts.user", str(user.pk))
    assert stored.changes == {"title": ["a", "b"], "7": ["x"]}  # stored exactly as hashed
    assert (stored.ip, stored.request_id) == ("10.1.2.3", "req-42")
    assert stored.hash == audit.row_hash({**stored.__dict__, "actor_id": stored.actor_id})
    assert audit.verify_chain() == {"ok": True, "checked": 3}


@pytest.mark.django_db
def test_anonymous_failed_login_is_recorded(client):
    client.post("/accounts/login/", {"username": "mallory", "password": "nope"}, REMOTE_ADDR="192.0.2.9")
    entry = AuditLog.objects.get(event_type="auth.login_failed")
    assert entry.actor_id is None and entry.sensitivity == "medium"
    assert entry.object_id == "mallory" and entry.ip == "192.0.2.9" and entry.request_id


@pytest.mark.django_db
def test_edited_row_is_found_at_that_row(user, capsys):
    entries = make_entries(5, actor=user)
    victim = entries[2]
    with triggers_off():
        assert raw("UPDATE audit_auditlog SET changes = %s WHERE id = %s", ['{"n": 99}', victim.pk]) == 1
    result = audit.verify_chain()
    assert result["ok"] is False and result["checked"] == 2
    assert result["broken"]["id"] == victim.pk and "edited" in result["broken"]["reason"]
    with pytest.raises(CommandError):
        call_command("audit_verify")
    assert f"#{victim.pk}" in capsys.readouterr().out


@pytest.mark.django_db
def test_rehashed_edit_is_found_at_the_next_row(user):
    entries = make_entries(4, actor=user)
    victim = entries[1]
    forged = {**AuditLog.objects.filter(pk=victim.pk).values()[0], "event_type": "forged"}
    with triggers_off():
        raw(
            "UPDATE audit_auditlog SET event_type = %s, hash = %s WHERE id = %s",
            ["forged", audit.row_hash(forged), victim.pk],
        )
    broken = audit.verify_chain()["broken"]
    assert broken["id"] == entries[2].pk and "prev_hash" in broken["reason"]


@pytest.mark.django_db
def test_deleted_row_is_found_at_the_next_row(user):
    entries = make_entries(4, actor=user)
    with triggers_off():
        raw("DELETE FROM audit_auditlog WHERE id = %s", [entries[1].pk])
    result = audit.verify_chain()
    assert result["broken"]["id"] == entries[2].pk and result["checked"] == 1


@pytest.mark.django_db
def test_audit_verify_command_reports_intact_chain(user, capsys):
    make_entries(3, actor=user)
    call_command("audit_verify")
    assert "3 entries checked" in capsys.readouterr().out


@pytest.mark.django_db
def test_missing_trigger_fails_the_command(user):
    from audit import triggers

    make_entries(1, actor=user)
    with connection.cursor() as cursor:
        cursor.execute(triggers.SQLITE_REMOVE[0] if connection.vendor == "sqlite" else triggers.POSTGRES_REMOVE[0])
    assert audit.verify_all()["triggers"].startswith("missing")
    with pytest.raises(CommandError):
        call_command("audit_verify")


@pytest.mark.django_db
def test_rolled_back_entry_leaves_a_valid_chain(user):
    make_entries(2, actor=user)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record("task.update", actor=user)
        raise RuntimeError("the write failed")
    make_entries(2, actor=user)
    assert audit.verify_chain() == {"ok": True, "checked": 4}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_20_concurrent_writers_leave_an_unbroken_chain(postgres, department):
    from contorl.accounts.models import User

    people = User.objects.bulk_create([User(username=f"writer{i}", department=department) for i in range(20)])
    barrier = threading.Barrier(20)
    errors = []

    def write(person):
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                audit.record("task.update", actor=person, obj=person, changes={"by": person.username})
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert AuditLog.objects.filter(event_type="task.update").count() == 20
    assert audit.verify_chain() == {"ok": True, "checked": AuditLog.objects.count()}
    assert AuditLog.objects.values("prev_hash").distinct().count() == AuditLog.objects.count()
