"""Database triggers that make audit rows append-only, per database vendor.

The one UPDATE allowed is the sealer's: seq, prev_hash and hash from NULL to a value, once,
with every business column unchanged (audit/sealing.py).

Installed by migration 0002 and re-checked after every `migrate` (post_migrate): on SQLite
a later migration that rebuilds the table (ALTER via copy + DROP) silently drops triggers,
so we never trust that they survived. `flush` (audit/management/commands/flush.py) lifts
them for the length of the wipe: wiping a whole database is an operator's act, like
TRUNCATE, not an edit of the trail.
"""

TABLE = "audit_auditlog"

# What an UPDATE may do: the sealer's one write, NULL -> value on the seal columns, with
# every other column (and the id) unchanged. Anything else is refused.
BUSINESS_COLUMNS = (
    "id",
    "event_type",
    "sensitivity",
    "actor_id",
    "object_type",
    "object_id",
    "changes",
    "request_id",
    "ip",
    "created_at",
)
SEAL_COLUMNS = ("seq", "prev_hash", "hash")


def _seal_only(same: str) -> str:
    once = " AND ".join(f"OLD.{c} IS NULL AND NEW.{c} IS NOT NULL" for c in SEAL_COLUMNS)
    unchanged = " AND ".join(f"NEW.{c} {same} OLD.{c}" for c in BUSINESS_COLUMNS)
    return f"({once} AND {unchanged})"


SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE}
    WHEN NOT {_seal_only("IS")}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: DELETE refused'); END""",
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS {TABLE}_no_update", f"DROP TRIGGER IF EXISTS {TABLE}_no_delete"]

POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND {_seal_only("IS NOT DISTINCT FROM")} THEN
            RETURN NEW;
        END IF;
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
