"""`flush` that can wipe the append-only audit table.

Django's flush empties every table (DELETE on SQLite, TRUNCATE on PostgreSQL), which the
audit triggers rightly refuse. Wiping the whole database is an operator's decision (and
what the test runner does between transactional tests), so the triggers are lifted for the
wipe and put back in the same transaction: if anything fails, nothing changes.
"""

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from audit import triggers


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor not in triggers.TRIGGER_NAMES:
            return super().handle(**options)
        with transaction.atomic(using=connection.alias):
            had = bool(triggers.installed(connection))
            triggers.remove(connection)
            result = super().handle(**options)
            if had:
                triggers.install(connection)
        return result
