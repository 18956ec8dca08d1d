"""PostgreSQL search indexes for messages (SQLite falls back to a plain match).

Full-text search uses the 'simple' configuration (no stemming: messages mix English,
Chinese and part numbers). Chinese has no spaces, so a two-character query like 停機
never matches a tsvector token; the trigram index over UPPER(content) serves Django's
`icontains` (UPPER(...) LIKE UPPER(...)) for those. The expressions below match what
the ORM emits, so the planner can use them.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS rooms_message_fts ON rooms_message "
    "USING gin (to_tsvector('simple'::regconfig, COALESCE((content)::text, '')))",
    "CREATE INDEX IF NOT EXISTS rooms_message_trgm ON rooms_message USING gin (UPPER((content)::text) gin_trgm_ops)",
]
BACKWARD = ["DROP INDEX IF EXISTS rooms_message_trgm", "DROP INDEX IF EXISTS rooms_message_fts"]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in FORWARD:
        schema_editor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in BACKWARD:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("rooms", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
