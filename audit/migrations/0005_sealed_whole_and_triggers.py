"""A row is sealed as a whole or not at all; the append-only triggers now allow the seal."""

from django.db import migrations, models


def install(apps, schema_editor):
    from audit import triggers

    triggers.install(schema_editor.connection)


def remove(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_reseal_legacy_rows")]

    operations = [
        migrations.AddConstraint(
            model_name="auditlog",
            constraint=models.CheckConstraint(
                condition=models.Q(seq__isnull=True, prev_hash__isnull=True, hash__isnull=True)
                | models.Q(seq__isnull=False, prev_hash__isnull=False, hash__isnull=False),
                name="auditlog_sealed_whole",
            ),
        ),
        migrations.RunPython(install, remove),
    ]
