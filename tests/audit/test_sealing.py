"""The sealer: order, idempotence, after-commit runs, the seal-once trigger, concurrency (PG)."""

import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, connections, transaction

from audit import services as audit
from audit.models import GENESIS_HASH, AuditLog
from tests.audit.factories import make_entries
from tests.audit.helpers import raw

pytestmark = pytest.mark.django_db


def chain() -> list[tuple[int, int]]:
    return list(AuditLog.objects.filter(seq__isnull=False).order_by("seq").values_list("seq", "id"))


def test_sealing_follows_id_order_and_later_rows_extend_the_chain(user):
    first = make_entries(3, actor=user)
    assert audit.seal_pending(batch_size=2) == 3  # two batches, one chain
    second = make_entries(2, actor=user)
    assert audit.seal_pending() == 2
    assert chain() == [(i + 1, e.pk) for i, e in enumerate(first + second)]
    assert audit.verify_chain()["ok"] is True


def test_sealing_twice_changes_nothing(user):
    make_entries(3, actor=user)
    audit.seal_pending()
    before = list(AuditLog.objects.order_by("id").values_list("seq", "prev_hash", "hash"))
    assert audit.seal_pending() == 0
    assert list(AuditLog.objects.order_by("id").values_list("seq", "prev_hash", "hash")) == before
    assert audit.chain_head() == (3, before[-1][2])


def test_empty_chain_head_is_genesis():
    assert audit.chain_head() == (0, GENESIS_HASH)
    assert audit.seal_pending() == 0


def test_one_sealer_run_after_commit_per_transaction(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        make_entries(3, actor=user)
        assert not AuditLog.objects.filter(seq__isnull=False).exists()  # nothing sealed before commit
    sealers = [c for c in callbacks if getattr(c, "__name__", "") == "_seal_after_commit"]
    assert len(sealers) == 1
    assert AuditLog.objects.filter(seq__isnull=True).count() == 0 and len(chain()) == 3


def test_a_rolled_back_savepoint_does_not_take_the_sealer_with_it(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        kept = audit.record("kept.first", actor=user)  # queues the sealer in the outer block
        try:
            with transaction.atomic():
                audit.record("dropped", actor=user)
                raise RuntimeError
        except RuntimeError:
            pass
        later = audit.record("kept.second", actor=user)
    assert chain() == [(1, kept.pk), (2, later.pk)]
    # the other way round: the run queued inside the rolled-back savepoint goes with it
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                audit.record("dropped", actor=user)
                raise RuntimeError
        except RuntimeError:
            pass
        last = audit.record("kept.third", actor=user)
    assert chain()[-1] == (3, last.pk)


def test_a_failing_sealer_does_not_fail_the_committed_write(user, settings, django_capture_on_commit_callbacks):
    settings.PRODUCTION, settings.AUDIT_HMAC_KEY = True, ""  # the key is missing: sealing refuses
    with django_capture_on_commit_callbacks(execute=True):
        entry = audit.record("task.update", actor=user)
    assert AuditLog.objects.get(pk=entry.pk).seq is None  # written, not sealed
    settings.PRODUCTION, settings.AUDIT_HMAC_KEY = False, "the-key-is-back-" + "x" * 32
    from audit.tasks import seal_and_anchor

    result = seal_and_anchor()  # beat's safety net
    assert result["sealed"] == 1 and result["anchored_seq"] == 1
    assert AuditLog.objects.get(pk=entry.pk).seq == 1


def test_the_trigger_lets_the_seal_be_set_once_and_nothing_else(user):
    entry = make_entries(1, actor=user)[0]
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        # sealing and editing in one statement
        raw(
            "UPDATE audit_auditlog SET seq = 1, prev_hash = %s, hash = %s, object_id = 'x' WHERE id = %s",
            [GENESIS_HASH, "f" * 64, entry.pk],
        )
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        raw("UPDATE audit_auditlog SET id = id + 1000 WHERE id = %s", [entry.pk])
    audit.seal_pending()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        raw("UPDATE audit_auditlog SET hash = %s WHERE id = %s", ["e" * 64, entry.pk])  # a second seal
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        raw("UPDATE audit_auditlog SET seq = NULL, prev_hash = NULL, hash = NULL WHERE id = %s", [entry.pk])
    assert audit.verify_chain()["ok"] is True


def test_a_half_seal_is_refused_by_the_constraint(user):
    entry = make_entries(1, actor=user)[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        raw("UPDATE audit_auditlog SET seq = 1 WHERE id = %s", [entry.pk])
    assert AuditLog.objects.get(pk=entry.pk).seq is None


def test_unsealed_rows_are_reported(user):
    make_entries(2, actor=user)
    audit.seal_pending()
    waiting = make_entries(3, actor=user)
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 2
    assert result["unsealed"]["count"] == 3 and result["unsealed"]["oldest_id"] == waiting[0].pk


def test_deploy_check_refuses_a_missing_or_short_key(settings):
    from audit.checks import audit_hmac_key

    settings.PRODUCTION = True
    for key in ("", "short"):
        settings.AUDIT_HMAC_KEY = key
        assert [e.id for e in audit_hmac_key(None)] == ["audit.E001"]
    settings.AUDIT_HMAC_KEY = "k" * 48
    assert audit_hmac_key(None) == []
    settings.PRODUCTION, settings.AUDIT_HMAC_KEY = False, ""
    assert audit_hmac_key(None) == []  # development generates its own


def test_development_key_is_generated_once_into_var(settings, tmp_path):
    from audit import keys

    settings.AUDIT_HMAC_KEY, settings.BASE_DIR = "", tmp_path
    first = keys.hmac_key()
    path = tmp_path / "var" / keys.DEV_KEY_FILE
    assert path.exists() and path.stat().st_mode & 0o077 == 0 and len(first) >= 48
    assert keys.hmac_key() == first
    assert [p.name for p in path.parent.iterdir()] == [keys.DEV_KEY_FILE]  # no temporary left behind


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_open_transaction_does_not_block_another_writer(postgres, department):
    """T1 records and stays open; T2 records and commits at once; both end up sealed."""
    from contorl.accounts.models import User

    alice, bob = User.objects.bulk_create([User(username=n, department=department) for n in ("alice", "bob")])
    t2_done = threading.Event()
    outcome = {}

    def second_writer():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '3s'")  # a wait on any lock fails loudly
            with transaction.atomic():
                outcome["entry"] = audit.record("task.update", actor=bob, changes={"project": 2})
            # its own after-commit sealer has run by now, while T1 is still open
            outcome["seq"] = AuditLog.objects.get(pk=outcome["entry"].pk).seq
        except Exception as exc:  # surfaced below
            outcome["error"] = exc
        finally:
            t2_done.set()
            connections.close_all()

    with transaction.atomic():
        first = audit.record("task.update", actor=alice, changes={"project": 1})
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert t2_done.wait(10), "the second writer waited for the open transaction"
        assert "error" not in outcome, outcome.get("error")
        assert outcome["entry"].pk > first.pk and outcome["seq"] == 1
        assert AuditLog.objects.get(pk=first.pk).seq is None
    thread.join(5)
    # T1's own after-commit sealer chains its row behind T2's, though its id is lower.
    assert chain() == [(1, outcome["entry"].pk), (2, first.pk)]
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 2 and result["unsealed"]["count"] == 0


def test_check_deploy_in_production_refuses_a_missing_key():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "AUDIT_HMAC_KEY")}
    env.update(DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(64), DJANGO_SETTINGS_MODULE="contorl.settings")
    command = [sys.executable, "manage.py", "check", "--deploy"]
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "audit.E001" in out.stdout + out.stderr


# PostgreSQL only, as in production: SQLite's shared-cache test database locks whole tables
# between connections, and the embedded SQLite seals on the writer's thread anyway.
@pytest.mark.postgres
@pytest.mark.background_sealer
@pytest.mark.django_db(transaction=True)
def test_the_background_sealer_chains_committed_rows_off_the_writers_thread(user, settings, monkeypatch):
    from audit import sealing

    settings.AUDIT_SEAL_IN_BACKGROUND = True
    passes = []
    real = sealing.seal_pending
    monkeypatch.setattr(
        sealing, "seal_pending", lambda **kw: passes.append(threading.current_thread().name) or real(**kw)
    )
    with transaction.atomic():
        entries = make_entries(3, actor=user)
    # The writer's commit only woke the thread: the pass runs there, not here.
    assert sealing.background.wait_idle(timeout=30)
    assert passes and set(passes) == {"audit-sealer"}
    assert chain() == [(i + 1, e.pk) for i, e in enumerate(entries)]
    later = make_entries(2, actor=user)  # autocommit: each row wakes it again
    assert sealing.background.wait_idle(timeout=30)
    assert [pk for _seq, pk in chain()] == [e.pk for e in entries + later]
    assert audit.verify_chain()["ok"] is True


@pytest.mark.postgres
@pytest.mark.background_sealer
@pytest.mark.django_db(transaction=True)
def test_the_background_sealer_is_not_woken_by_a_rolled_back_write(user, settings):
    from audit import sealing

    settings.AUDIT_SEAL_IN_BACKGROUND = True
    wakes = sealing.background._requested
    with pytest.raises(RuntimeError), transaction.atomic():
        make_entries(1, actor=user)
        raise RuntimeError
    assert sealing.background._requested == wakes  # its on_commit wake went with the rollback
    kept = make_entries(1, actor=user)[0]
    assert sealing.background.wait_idle(timeout=30)
    assert chain() == [(1, kept.pk)]
    assert AuditLog.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.background_sealer
@pytest.mark.django_db(transaction=True)
def test_the_background_sealer_serves_a_burst_with_one_pass_and_wait_idle_cuts_its_linger(user, settings, monkeypatch):
    from audit import sealing

    settings.AUDIT_SEAL_IN_BACKGROUND = True
    assert sealing.background.wait_idle(timeout=30)  # nothing left over from earlier tests
    settings.AUDIT_SEAL_LINGER = 3600  # longer than this test may take: only wait_idle ends it
    passes = []
    real = sealing.seal_pending
    monkeypatch.setattr(sealing, "seal_pending", lambda **kw: passes.append(1) or real(**kw))
    entries = make_entries(5, actor=user)  # autocommit: five commits, five wakes
    assert AuditLog.objects.filter(seq__isnull=True).count() == 5  # still lingering
    assert sealing.background.wait_idle(timeout=30)
    assert len(passes) == 1
    assert [pk for _seq, pk in chain()] == [e.pk for e in entries]
