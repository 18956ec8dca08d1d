from django.apps import AppConfig


class ContorlConfig(AppConfig):
    name = "contorl"
    verbose_name = "CONTORL core"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created
        from rest_framework import fields

        # DRF reads a form or multipart body like an HTML form, where a yes/no field that is
        # not there is an unticked checkbox: False. For an API client it is a field not given:
        # required ones are a 400, optional ones keep their default or (PATCH) their value.
        # Otherwise a form PATCH of `version` alone revoked system admin.
        fields.BooleanField.default_empty_html = fields.empty
        # And a text field takes text: DRF turns a JSON number into its digits ("title": 5.5
        # became "5.5"), while the schema says string. Form bodies only ever carry strings.
        if not hasattr(fields.CharField.to_internal_value, "__wrapped__"):
            fields.CharField.to_internal_value = _text_only(fields.CharField.to_internal_value)

        from . import metrics
        from .accounts import sessions  # noqa: F401  (connects the sign-in/out receivers)

        if settings.METRICS_ENABLED:
            connection_created.connect(metrics.install_db_timer, dispatch_uid="contorl.metrics.db")


def _text_only(to_internal_value):
    def strict(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return to_internal_value(self, data)

    strict.__wrapped__ = to_internal_value
    return strict
