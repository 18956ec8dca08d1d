"""Seal columns (seq; prev_hash and hash become nullable) for rows inserted unsealed.

The append-only triggers are lifted first: the SQLite table rebuild below would drop them
anyway, and 0004 must rewrite the legacy seals. 0005 puts them back.
"""

from django.conf import settings
from django.db import migrations, models


def lift_triggers(apps, schema_editor):
    from audit import triggers

    triggers.remove(schema_editor.connection)


def restore_legacy_triggers(apps, schema_editor):
    pass  # going back past 0003 is only for empty tables; 0002's own reverse drops nothing then


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(lift_triggers, restore_legacy_triggers),
        migrations.AddField(
            model_name="auditlog",
            name="seq",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True, verbose_name="chain position"),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True, verbose_name="hash"),
        ),
        migrations.AlterField(
            model_name="auditlog",
            name="prev_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True, verbose_name="previous hash"),
        ),
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"], name="audit_unsealed_idx"),
        ),
    ]
