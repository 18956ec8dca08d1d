"""Database triggers that make audit rows append-only, per database vendor.

Installed by migration 0002 and re-checked after every `migrate` (post_migrate): on SQLite
a later migration that rebuilds the table (ALTER via copy + DROP) silently drops triggers,
so we never trust that they survived. `flush` (audit/management/commands/flush.py) lifts
them for the length of the wipe: wiping a whole database is an operator's act, like
TRUNCATE, not an edit of the trail.
"""

TABLE = "audit_auditlog"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END""",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"]

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{TABLE} is append-only: % refused', TG_OP USING ERRCODE = 'restrict_violation';
    END $$""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse()""",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"""CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse()""",
]
POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_refuse()",
]

TRIGGER_NAMES = {
    "sqlite": {f"{TABLE}_no_update", f"{TABLE}_no_delete"},
    "postgresql": {f"{TABLE}_no_update", f"{TABLE}_no_delete", f"{TABLE}_no_truncate"},
}


def install(connection) -> None:
    statements = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRES_INSTALL}.get(connection.vendor)
    if statements is None:
        raise NotImplementedError(f"No append-only triggers for {connection.vendor}")
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def remove(connection) -> None:
    statements = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRES_REMOVE}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def installed(connection) -> set[str]:
    """Names of the append-only triggers present (and enabled) right now."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s", [TABLE])
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgenabled <> 'D'",
                [TABLE],
            )
        else:
            return set()
        return {row[0] for row in cursor.fetchall()} & TRIGGER_NAMES.get(connection.vendor, set())


def missing(connection) -> set[str]:
    return TRIGGER_NAMES.get(connection.vendor, set()) - installed(connection)
