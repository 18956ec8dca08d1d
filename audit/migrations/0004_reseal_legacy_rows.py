"""Re-seal rows written by the old sha256 chain with the keyed (HMAC) chain.

The old chain is verified first and the migration stops if it is broken: re-sealing a
tampered trail would make the tampering look authentic. Investigate with the previous
release's `audit_verify`, then decide. Rows keep their id order as their chain position.
Needs AUDIT_HMAC_KEY (production) like every sealer run.
"""

import datetime
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations

LEGACY_GENESIS = "0" * 64
LEGACY_FIELDS = (
    "event_type",
    "sensitivity",
    "actor_id",
    "object_type",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "created_at",
    "prev_hash",
)


def legacy_row_hash(values: dict) -> str:
    content = {name: values[name] for name in LEGACY_FIELDS}
    content["created_at"] = content["created_at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def reseal(apps, schema_editor):
    from audit import keys
    from audit.sealing import GENESIS_HASH, row_hash

    AuditLog = apps.get_model("audit", "AuditLog")
    rows = AuditLog.objects.filter(seq__isnull=True).order_by("id")
    if not rows.exists():
        return
    key = keys.hmac_key()
    expected_prev, seq, prev, batch = LEGACY_GENESIS, 0, GENESIS_HASH, []
    for row in rows.values("id", *LEGACY_FIELDS, "hash").iterator(chunk_size=2000):
        if row["hash"] is None:
            continue  # already written unsealed by the new code: the sealer's job
        if row["prev_hash"] != expected_prev or legacy_row_hash(row) != row["hash"]:
            raise RuntimeError(
                f"The legacy audit chain is broken at entry #{row['id']}; refusing to re-seal it with the "
                "HMAC chain (that would make the tampering look authentic). See audit/README.md."
            )
        expected_prev = row["hash"]
        seq += 1
        row.update(seq=seq, prev_hash=prev)
        prev = row_hash(row, key=key)
        batch.append(AuditLog(pk=row["id"], seq=seq, prev_hash=row["prev_hash"], hash=prev))
        if len(batch) >= 1000:
            AuditLog.objects.bulk_update(batch, ["seq", "prev_hash", "hash"])
            batch = []
    if batch:
        AuditLog.objects.bulk_update(batch, ["seq", "prev_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_seal_fields")]

    operations = [migrations.RunPython(reseal, migrations.RunPython.noop)]
