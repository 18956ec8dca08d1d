from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def ensure_triggers(sender, using="default", **kwargs):
    """Re-install the append-only triggers if a later migration dropped them (SQLite)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from . import triggers

    connection = connections[using]
    if connection.vendor not in triggers.TRIGGER_NAMES:
        return
    if triggers.TABLE not in connection.introspection.table_names():
        return
    applied = MigrationRecorder(connection).applied_migrations()
    if ("audit", "0005_sealed_whole_and_triggers") in applied and triggers.missing(connection):
        triggers.install(connection)


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from contorl import auditing

        from . import checks  # noqa: F401 (registers the deploy check)
        from .services import record

        # contorl/accounts records sign-ins, sessions and user changes through contorl.auditing.
        auditing.register_recorder(record)

        post_migrate.connect(ensure_triggers, sender=self, dispatch_uid="audit.ensure_triggers")
