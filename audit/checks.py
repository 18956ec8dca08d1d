"""`check --deploy`: production refuses to run without the audit chain's key."""

from django.conf import settings
from django.core import checks

from .keys import MIN_KEY_LENGTH


@checks.register(checks.Tags.security, deploy=True)
def audit_hmac_key(app_configs, **kwargs):
    if not settings.PRODUCTION:
        return []
    if len(settings.AUDIT_HMAC_KEY or "") >= MIN_KEY_LENGTH:
        return []
    return [
        checks.Error(
            f"AUDIT_HMAC_KEY is missing or shorter than {MIN_KEY_LENGTH} characters.",
            hint="Set AUDIT_HMAC_KEY in the environment to a random secret kept outside the database "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))'); see audit/README.md.",
            id="audit.E001",
        )
    ]
