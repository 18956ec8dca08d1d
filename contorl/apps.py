from django.apps import AppConfig


class ContorlConfig(AppConfig):
    name = "contorl"
    verbose_name = "CONTORL core"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from . import api_fields, metrics
        from .accounts import sessions, tokens  # noqa: F401  (sessions connects the sign-in/out receivers)

        # DRF fields read input as the schema says, not by HTML-form habits (contorl/api_fields.py).
        api_fields.install()
        tokens.check_signing_keys_once()

        if settings.METRICS_ENABLED:
            connection_created.connect(metrics.install_db_timer, dispatch_uid="contorl.metrics.db")
