"""Hash chain: every sealed row links to the one before; tampering is found at the row; no forks."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction

from audit import services as audit
from audit.models import GENESIS_HASH, AuditLog
from tests.audit.factories import make_entries
from tests.audit.helpers import raw, rehash_from, triggers_off, values


@pytest.mark.django_db
def test_record_inserts_unsealed_and_the_sealer_links_each_row_to_the_previous(rf, user):
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
    assert [(e.seq, e.prev_hash, e.hash) for e in (first, second, third)] == [(None, None, None)] * 3
    assert audit.seal_pending() == 3
    first, second, third = (AuditLog.objects.get(pk=e.pk) for e in (first, second, third))
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)  # id order within one pass
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert (third.event_type, third.sensitivity, third.actor_id) == ("task.update", "medium", user.pk)
    assert (third.object_type, third.object_id) == ("accounts.user", str(user.pk))
    assert third.changes == {"title": ["a", "b"], "7": ["x"]}  # stored exactly as hashed
    assert (third.ip, third.request_id) == ("10.1.2.3", "req-42")
    assert third.hash == audit.row_hash(values(third))
    # keyed: the same row under another key (or plain sha256) gives another hash
    assert third.hash != audit.row_hash(values(third), key=b"another key")
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 3 and result["unsealed"]["count"] == 0


@pytest.mark.django_db
def test_anonymous_failed_login_is_recorded(client):
    client.post("/accounts/login/", {"username": "mallory", "password": "nope"}, REMOTE_ADDR="192.0.2.9")
    entry = AuditLog.objects.get(event_type="auth.login_failed")
    assert entry.actor_id is None and entry.sensitivity == "medium"
    assert entry.object_id == "mallory" and entry.ip == "192.0.2.9" and entry.request_id


@pytest.mark.django_db
def test_edited_row_is_found_at_that_row(user, capsys):
    entries = make_entries(5, actor=user)
    audit.seal_pending()
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
def test_rewrite_recomputed_without_the_key_is_found_at_the_edited_row(user):
    """Owner rights but no key: edit a row and recompute every later hash with a guess."""
    entries = make_entries(4, actor=user)
    audit.seal_pending()
    victim = entries[1]
    rehash_from(victim.pk, key=b"a guessed key", event_type="forged")
    assert AuditLog.objects.get(pk=victim.pk).event_type == "forged"
    result = audit.verify_chain()
    assert result["ok"] is False and result["checked"] == 1
    assert result["broken"]["id"] == victim.pk and "HMAC" in result["broken"]["reason"]


@pytest.mark.django_db
def test_rewrite_recomputed_with_the_key_passes_the_chain_check(user):
    """With the key a rewrite is a valid chain: only an anchor can tell (test_anchors.py)."""
    from tests.audit.conftest import TEST_KEY

    entries = make_entries(3, actor=user)
    audit.seal_pending()
    rehash_from(entries[1].pk, key=TEST_KEY.encode(), event_type="forged")
    assert audit.verify_chain()["ok"] is True


@pytest.mark.django_db
def test_deleted_row_is_found_at_the_next_row(user):
    entries = make_entries(4, actor=user)
    audit.seal_pending()
    with triggers_off():
        raw("DELETE FROM audit_auditlog WHERE id = %s", [entries[1].pk])
    result = audit.verify_chain()
    assert result["broken"]["id"] == entries[2].pk and result["checked"] == 1
    assert "position 2 is missing" in result["broken"]["reason"]


@pytest.mark.django_db
def test_audit_verify_command_reports_sealed_and_unsealed_rows(user, capsys):
    make_entries(3, actor=user)
    audit.seal_pending()
    late = make_entries(2, actor=user)
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "3 sealed entries checked" in out and f"2 not sealed yet (oldest #{late[0].pk}" in out
    assert "No anchor yet" in out


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
    assert audit.seal_pending() == 4
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 4 and result["unsealed"]["count"] == 0


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
    # every writer's after-commit sealer ran: nothing is left for beat
    assert not AuditLog.objects.filter(seq__isnull=True).exists()
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == AuditLog.objects.count()
    assert AuditLog.objects.values("prev_hash").distinct().count() == AuditLog.objects.count()
