"""The daily beat job drops refresh-token rows past their expiry, and only those."""

import datetime

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


def sign_in(client, user, password) -> dict:
    response = client.post("/api/auth/token/", {"username": user.username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def test_the_scheduled_job_flushes_expired_refresh_tokens_and_keeps_live_ones(anon_api, user, password):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from contorl.celery import app

    used, live = sign_in(anon_api, user, password), sign_in(anon_api, user, password)
    assert anon_api.post("/api/auth/token/refresh/", {"refresh": used["refresh"]}, format="json").status_code == 200
    assert BlacklistedToken.objects.count() == 1  # rotation blacklisted the used one
    # The used (blacklisted) token and the one rotation handed out both expire in the past.
    expired_ids = set(OutstandingToken.objects.exclude(token=live["refresh"]).values_list("pk", flat=True))
    assert len(expired_ids) == 2
    OutstandingToken.objects.filter(pk__in=expired_ids).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    # Run it the way beat does: by the scheduled task's name.
    entry = app.conf.beat_schedule["accounts-flush-expired-tokens"]
    app.loader.import_default_modules()
    result = app.tasks[entry["task"]].apply().get()

    assert result == {"deleted": 2}
    assert list(OutstandingToken.objects.values_list("token", flat=True)) == [live["refresh"]]
    assert BlacklistedToken.objects.count() == 0
    # The live token still refreshes; a second run finds nothing to do.
    refreshed = anon_api.post("/api/auth/token/refresh/", {"refresh": live["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert app.tasks[entry["task"]].apply().get() == {"deleted": 0}
