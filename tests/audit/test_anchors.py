"""Signed anchors outside the database: truncation and keyed rewrites are caught against them."""

import json
import logging
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from audit import anchors
from audit import services as audit
from audit.models import AuditLog
from tests.audit.conftest import TEST_KEY
from tests.audit.factories import make_entries
from tests.audit.helpers import raw, rehash_from, triggers_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(user):
    entries = make_entries(5, actor=user)
    audit.seal_pending()
    return entries


def rewrite_anchor_file(name: str, **changes) -> None:
    path = Path(default_storage.path(name))
    body = json.loads(path.read_text())
    body.update(changes)
    path.write_text(json.dumps(body))


def test_anchor_is_a_signed_file_and_a_log_line(sealed, caplog):
    with caplog.at_level(logging.INFO, logger="contorl.audit"):
        written = anchors.write_anchor()
    assert written["name"].startswith("audit/anchors/") and written["name"].endswith("-5.json")
    stored = json.loads(default_storage.open(written["name"]).read())
    assert (stored["seq"], stored["id"], stored["hash"]) == (5, sealed[-1].pk, AuditLog.objects.get(seq=5).hash)
    assert anchors.signature_ok(stored) and len(stored["signature"]) == 64
    assert not anchors.signature_ok(stored, key=b"another key")
    line = next(r for r in caplog.records if getattr(r, "event", "") == "audit_anchor")
    assert line.anchor["hash"] == stored["hash"] and line.anchor["signature"] == stored["signature"]
    assert anchors.latest()["name"] == written["name"]
    result = audit.verify_chain()
    assert result["ok"] is True and result["anchor"]["status"] == "ok" and result["anchor"]["seq"] == 5


def test_no_anchor_is_reported_but_not_a_failure(sealed):
    result = audit.verify_chain()
    assert result["ok"] is True and result["anchor"]["status"] == "missing"


def test_deleting_the_newest_rows_is_truncation_against_the_anchor(sealed, capsys):
    anchors.write_anchor()
    with triggers_off():
        raw("DELETE FROM audit_auditlog WHERE seq >= 4")
    result = audit.verify_chain()
    assert "broken" not in result and result["checked"] == 3  # what is left is a valid chain...
    assert result["ok"] is False and result["anchor"]["status"] == "truncated"  # ...but shorter than anchored
    assert "seq 3" in result["anchor"]["detail"] and "seq 5" in result["anchor"]["detail"]
    with pytest.raises(CommandError):
        call_command("audit_verify")
    assert "TRUNCATED" in capsys.readouterr().out


def test_rewrite_with_the_key_is_caught_by_the_anchor(sealed):
    """Owner rights and the key, but not the anchor storage: the anchored hash gives it away."""
    anchors.write_anchor()
    rehash_from(sealed[1].pk, key=TEST_KEY.encode(), event_type="forged")
    result = audit.verify_chain()
    assert "broken" not in result  # a perfectly keyed chain
    assert result["ok"] is False and result["anchor"]["status"] == "rewritten"


def test_rows_sealed_after_the_anchor_extend_it(sealed, user):
    anchors.write_anchor()
    make_entries(2, actor=user)
    audit.seal_pending()
    result = audit.verify_chain()
    assert result["ok"] is True and result["checked"] == 7 and result["anchor"]["seq"] == 5


def test_an_edited_anchor_fails_its_signature(sealed):
    name = anchors.write_anchor()["name"]
    rewrite_anchor_file(name, seq=3)  # e.g. to hide a truncation
    result = audit.verify_chain()
    assert result["ok"] is False and result["anchor"]["status"] == "invalid"
    assert "signature" in result["anchor"]["detail"]


def test_an_anchor_signed_with_another_key_is_named_as_such(sealed, settings):
    settings.AUDIT_HMAC_KEY = "someone-elses-key-" + "z" * 32
    anchors.write_anchor()
    settings.AUDIT_HMAC_KEY = TEST_KEY
    anchor = audit.verify_chain()["anchor"]
    assert anchor["status"] == "invalid" and "another key" in anchor["detail"]


def test_garbage_in_the_newest_anchor_file_is_invalid(sealed):
    anchors.write_anchor()
    default_storage.save("audit/anchors/9999-12/99991231T000000.000000Z-1.json", ContentFile(b"{no"))
    assert audit.verify_chain()["anchor"]["status"] == "invalid"


def test_anchoring_after_sealing_is_throttled(sealed, user, settings):
    settings.AUDIT_ANCHOR_INTERVAL = 300
    assert anchors.anchor_if_due()["seq"] == 5
    make_entries(1, actor=user)
    audit.seal_pending()
    assert anchors.anchor_if_due() is None  # within the interval
    settings.AUDIT_ANCHOR_INTERVAL = 0  # every time
    assert anchors.anchor_if_due()["seq"] == 6


def test_beat_anchors_only_when_the_head_moved(sealed, user):
    from audit.tasks import seal_and_anchor

    assert seal_and_anchor() == {"sealed": 0, "anchored_seq": 5}
    assert seal_and_anchor() == {"sealed": 0, "anchored_seq": None}
    make_entries(1, actor=user)
    assert seal_and_anchor() == {"sealed": 1, "anchored_seq": 6}
    files = default_storage.listdir(anchors.ANCHOR_DIR)[0]
    assert sum(len(default_storage.listdir(f"{anchors.ANCHOR_DIR}/{m}")[1]) for m in files) == 2
