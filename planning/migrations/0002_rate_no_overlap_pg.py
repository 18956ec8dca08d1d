"""PostgreSQL only: live rates of one worker type cannot overlap, even for writes that
bypass planning/services.py (which checks the same rule under a lock on every database).

daterange(valid_from, valid_to, '[]') includes both days; a NULL valid_to is open-ended.
Needs the btree_gist extension (for `worker_type_id WITH =`); where it cannot be created
(no privilege), the constraint is skipped and the service check alone holds the rule.
"""

from django.db import migrations, transaction

CONSTRAINT = "planning_rate_no_overlap"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    except Exception:  # noqa: BLE001 (no privilege: keep the service-level check only)
        return
    schema_editor.execute(
        f"ALTER TABLE planning_rate ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(worker_type_id WITH =, daterange(valid_from, valid_to, '[]') WITH &&) WHERE (NOT is_deleted)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE planning_rate DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
