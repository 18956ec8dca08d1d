"""Celery jobs of the accounts app (found by autodiscover_tasks(); scheduled in contorl/celery.py)."""

from celery import shared_task


@shared_task(name="accounts.flush_expired_tokens")
def flush_expired_tokens() -> dict:
    """simplejwt keeps a row per refresh token ever issued (and one per blacklisting) so that a
    used token is refused; once a token has expired it is refused anyway, so its rows are dead
    weight. The library's own `flushexpiredtokens` command owns what "expired" means."""
    from django.core.management import call_command
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    before = OutstandingToken.objects.count()
    call_command("flushexpiredtokens")
    return {"deleted": before - OutstandingToken.objects.count()}
