"""Refresh tokens rotate: each works once; signing out everywhere blacklists them all."""

import threading

import pytest
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


def sign_in(client, user, password) -> dict:
    response = client.post("/api/auth/token/", {"username": user.username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def refresh(client, token):
    return client.post("/api/auth/token/refresh/", {"refresh": token}, format="json")


def test_a_refresh_hands_out_a_new_refresh_token_and_the_old_one_is_refused(anon_api, user, password):
    pair = sign_in(anon_api, user, password)
    first = refresh(anon_api, pair["refresh"])
    assert first.status_code == 200
    assert first.json()["refresh"] != pair["refresh"]

    reused = refresh(anon_api, pair["refresh"])
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "not_authenticated"
    assert "access" not in reused.json()

    # The new one works (once), and its access token is good.
    second = refresh(anon_api, first.json()["refresh"])
    assert second.status_code == 200
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second.json()['access']}")
    assert api.get("/api/users/me/").status_code == 200


def test_sign_out_everywhere_blacklists_every_outstanding_refresh_token(anon_api, user, admin_api, password):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    pairs = [sign_in(anon_api, user, password) for _ in range(3)]
    assert admin_api.post(f"/api/users/{user.pk}/sign-out-everywhere/").status_code == 200

    live = OutstandingToken.objects.filter(user=user)
    assert live.count() == 3
    assert BlacklistedToken.objects.filter(token__user=user).count() == 3
    for pair in pairs:
        assert refresh(anon_api, pair["refresh"]).status_code == 401


def test_signing_out_the_other_sessions_blacklists_the_users_refresh_tokens(client, anon_api, user, password):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    pair = sign_in(anon_api, user, password)
    client.force_login(user)
    assert client.post("/accounts/sessions/sign-out-others/").status_code == 302
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    assert refresh(anon_api, pair["refresh"]).status_code == 401


def test_sign_out_everywhere_leaves_other_users_tokens_alone(anon_api, user, other_user, admin_api, password):
    mine, theirs = sign_in(anon_api, user, password), sign_in(anon_api, other_user, password)
    assert admin_api.post(f"/api/users/{user.pk}/sign-out-everywhere/").status_code == 200
    assert refresh(anon_api, mine["refresh"]).status_code == 401
    assert refresh(anon_api, theirs["refresh"]).status_code == 200


@pytest.mark.postgres  # two writing threads need PostgreSQL's row locks
@pytest.mark.django_db(transaction=True)
def test_two_racing_refreshes_with_one_token_rotate_it_once(user, password):
    pair = sign_in(APIClient(), user, password)
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def go():
        from django.db import connection

        barrier.wait()
        response = Client().post(
            "/api/auth/token/refresh/", {"refresh": pair["refresh"]}, content_type="application/json"
        )
        codes.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 401]
