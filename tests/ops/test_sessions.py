"""Browser sessions: listed with browser / IP / last seen, signed out one by one or everywhere,
and signing out closes that session's WebSockets."""

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path
from rest_framework_simplejwt.tokens import AccessToken

from audit.models import AuditLog
from contorl.accounts.sessions import describe_browser
from contorl.accounts.sessions_models import UserSession
from contorl.consumers import ContorlConsumer
from contorl.socket_session import SocketSessionMiddleware

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


class EchoConsumer(ContorlConsumer):
    """The smallest app consumer: anyone signed in may connect; says when it is admitted."""

    async def authorize(self, user):
        return None

    async def on_ready(self):
        await self.send_frame({"type": "ready"})


application = SocketSessionMiddleware(URLRouter([path("ws/echo/", EchoConsumer.as_asgi())]))


def sign_in(user, password, *, user_agent=FIREFOX, ip="203.0.113.7") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302, response
    return client


def cookie_of(client: Client) -> str:
    return f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"


async def open_socket(cookie: str | None = None, token: str | None = None) -> WebsocketCommunicator:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    comm = WebsocketCommunicator(application, "/ws/echo/", headers=headers)
    connected, _ = await comm.connect()
    assert connected
    if token:
        await comm.send_json_to({"type": "auth", "token": token})
    assert (await comm.receive_json_from(timeout=3))["type"] == "ready"
    return comm


async def expect_close(comm, code: int) -> None:
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": code}


# --- the page and the API -----------------------------------------------------------------
@pytest.mark.django_db
def test_sign_in_is_tracked_and_listed_with_browser_ip_and_last_seen(user, password):
    laptop = sign_in(user, password)
    sign_in(user, password, user_agent=IPHONE, ip="198.51.100.20")

    page = laptop.get("/accounts/sessions/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Firefox 133 on Linux" in html and "Safari 18 on iOS" in html
    assert "203.0.113.7" in html and "198.51.100.20" in html
    assert html.count("session-current") == 1

    listed = laptop.get("/api/sessions/").json()
    assert len(listed) == 2
    assert {row["browser"]: row["current"] for row in listed} == {
        "Firefox 133 on Linux": True,
        "Safari 18 on iOS": False,
    }
    assert all(row["last_seen_at"] and row["ip"] for row in listed)
    assert "session_key" not in listed[0]


@pytest.mark.django_db
def test_last_seen_follows_activity(user, password, settings):
    client = sign_in(user, password)
    row = UserSession.objects.get(user=user)
    UserSession.objects.filter(pk=row.pk).update(last_seen_at=row.last_seen_at.replace(year=2020), ip="192.0.2.1")
    settings.SESSION_ACTIVITY_INTERVAL = 0

    client.get("/accounts/sessions/")

    row.refresh_from_db()
    assert row.last_seen_at.year > 2020 and row.ip == "203.0.113.7"


@pytest.mark.django_db
def test_signing_another_session_out_ends_it(user, password):
    laptop = sign_in(user, password)
    phone = sign_in(user, password, user_agent=IPHONE)
    phone_row = UserSession.objects.get(user=user, user_agent=IPHONE)

    response = laptop.post(f"/accounts/sessions/{phone_row.pk}/sign-out/")

    assert response.status_code == 302 and response["Location"] == "/accounts/sessions/"
    assert phone.get("/accounts/sessions/").status_code == 302  # back to the sign-in page
    assert laptop.get("/accounts/sessions/").status_code == 200
    assert list(UserSession.objects.filter(user=user).values_list("user_agent", flat=True)) == [FIREFOX]
    entry = AuditLog.objects.get(event_type="auth.session_signed_out")
    assert entry.actor_id == user.pk and entry.changes["browser"] == "Safari 18 on iOS"


@pytest.mark.django_db
def test_sign_out_all_others_keeps_this_one(user, password):
    laptop = sign_in(user, password)
    others = [sign_in(user, password, user_agent=IPHONE) for _ in range(2)]

    laptop.post("/accounts/sessions/sign-out-others/")

    assert UserSession.objects.filter(user=user).count() == 1
    assert all(client.get("/api/sessions/").status_code in (401, 403) for client in others)
    assert laptop.get("/api/sessions/").status_code == 200


@pytest.mark.django_db
def test_someone_elses_session_is_not_found(user, other_user, password):
    mine = sign_in(user, password)
    sign_in(other_user, password)
    theirs = UserSession.objects.get(user=other_user)

    assert mine.post(f"/accounts/sessions/{theirs.pk}/sign-out/").status_code == 404
    assert mine.delete(f"/api/sessions/{theirs.pk}/").status_code == 404
    assert UserSession.objects.filter(pk=theirs.pk).exists()


@pytest.mark.django_db
def test_api_delete_signs_a_session_out(user, password):
    laptop = sign_in(user, password)
    phone = sign_in(user, password, user_agent=IPHONE)
    phone_id = next(row["id"] for row in laptop.get("/api/sessions/").json() if not row["current"])

    assert laptop.delete(f"/api/sessions/{phone_id}/").status_code == 204
    assert phone.get("/api/sessions/").status_code in (401, 403)


@pytest.mark.django_db
def test_admin_signs_a_user_out_everywhere(user, admin_user, password, api_for):
    clients = [sign_in(user, password), sign_in(user, password, user_agent=IPHONE)]

    assert api_for(user).post(f"/api/users/{user.pk}/sign-out-everywhere/").status_code == 403
    response = api_for(admin_user).post(f"/api/users/{user.pk}/sign-out-everywhere/")

    assert response.status_code == 200 and response.json() == {"signed_out": 2}
    assert not UserSession.objects.filter(user=user).exists()
    assert all(client.get("/accounts/sessions/").status_code == 302 for client in clients)
    entry = AuditLog.objects.get(event_type="auth.signed_out_everywhere")
    assert entry.actor_id == admin_user.pk and entry.object_id == str(user.pk) and entry.sensitivity == "high"


@pytest.mark.django_db
def test_sign_out_everywhere_revokes_the_users_tokens(user, admin_user, password, anon_api):
    from datetime import timedelta

    from django.db.models import F
    from rest_framework.test import APIClient

    from contorl.accounts.models import User

    pair = anon_api.post("/api/auth/token/", {"username": user.username, "password": password}).json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get("/api/users/me/").status_code == 200

    admin = APIClient()
    admin.force_authenticate(admin_user)
    assert admin.post(f"/api/users/{user.pk}/sign-out-everywhere/").status_code == 200

    refused = api.get("/api/users/me/")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"
    again = anon_api.post("/api/auth/token/refresh/", {"refresh": pair["refresh"]})
    assert again.status_code == 401 and "access" not in again.json()
    # Signing in again works once the clock has left the sign-out's second (iat has whole
    # seconds): move the stamp two seconds back instead of waiting.
    User.objects.filter(pk=user.pk).update(tokens_valid_after=F("tokens_valid_after") - timedelta(seconds=2))
    pair = anon_api.post("/api/auth/token/", {"username": user.username, "password": password}).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert api.get("/api/users/me/").status_code == 200
    assert anon_api.post("/api/auth/token/refresh/", {"refresh": pair["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_jwt_sign_in_creates_no_session(user, password, anon_api):
    response = anon_api.post("/api/auth/token/", {"username": user.username, "password": password})
    assert response.status_code == 200
    assert not UserSession.objects.exists()


def test_browser_descriptions():
    assert describe_browser(FIREFOX) == "Firefox 133 on Linux"
    assert describe_browser(IPHONE) == "Safari 18 on iOS"
    chrome = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
    )
    assert describe_browser(chrome) == "Chrome 131 on Windows"
    assert describe_browser(chrome + " Edg/131.0") == "Edge 131 on Windows"
    assert describe_browser("") == "Unknown browser"


# --- sockets close with their session -----------------------------------------------------
async def _socket_closes_when_its_session_is_signed_out(user, password):
    laptop = await database_sync_to_async(sign_in)(user, password)
    phone = await database_sync_to_async(sign_in)(user, password, user_agent=IPHONE)
    phone_socket = await open_socket(cookie_of(phone))
    laptop_socket = await open_socket(cookie_of(laptop))
    phone_id = await database_sync_to_async(lambda: UserSession.objects.get(user_agent=IPHONE).pk)()

    response = await database_sync_to_async(laptop.post)(f"/accounts/sessions/{phone_id}/sign-out/")
    assert response.status_code == 302

    await expect_close(phone_socket, 4401)
    assert await laptop_socket.receive_nothing(timeout=0.3)  # the other session's socket stays
    await laptop_socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_signing_out_a_session_closes_its_sockets(user, password):
    await _socket_closes_when_its_session_is_signed_out(user, password)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
async def test_signing_out_closes_sockets_through_redis(user, password, redis_channel_layer):
    await _socket_closes_when_its_session_is_signed_out(user, password)


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_sessions_sockets(user, password):
    client = await database_sync_to_async(sign_in)(user, password)
    socket = await open_socket(cookie_of(client))

    await database_sync_to_async(client.post)("/accounts/logout/")

    await expect_close(socket, 4401)


@pytest.mark.django_db(transaction=True)
async def test_sign_out_everywhere_closes_session_and_token_sockets(user, admin_user, password, api_for):
    client = await database_sync_to_async(sign_in)(user, password)
    by_cookie = await open_socket(cookie_of(client))
    old_token = AccessToken.for_user(user)
    by_token = await open_socket(token=str(old_token))
    bystander = await open_socket(token=str(AccessToken.for_user(admin_user)))

    response = await database_sync_to_async(api_for(admin_user).post)(f"/api/users/{user.pk}/sign-out-everywhere/")
    assert response.status_code == 200

    await expect_close(by_cookie, 4401)
    await expect_close(by_token, 4401)
    assert await bystander.receive_nothing(timeout=0.3)
    await bystander.disconnect()
    # The closed token client cannot come straight back with the same token.
    retry = WebsocketCommunicator(application, "/ws/echo/")
    assert (await retry.connect())[0]
    await retry.send_json_to({"type": "auth", "token": str(old_token)})
    await expect_close(retry, 4401)


@pytest.mark.django_db
def test_django_admin_action_signs_users_out_everywhere(user, make_user, password):
    boss = make_user("boss", is_staff=True, is_superuser=True, is_system_admin=True)
    victim = sign_in(user, password)
    admin_client = sign_in(boss, password)
    rows = list(UserSession.objects.filter(user=user).values_list("pk", flat=True))

    page = admin_client.get("/admin/accounts/usersession/")
    assert page.status_code == 200 and "Firefox 133 on Linux" in page.content.decode()
    response = admin_client.post(
        "/admin/accounts/usersession/",
        {"action": "sign_out_users_everywhere", "_selected_action": rows},
    )

    assert response.status_code == 302
    assert not UserSession.objects.filter(user=user).exists()
    assert UserSession.objects.filter(user=boss).exists()
    assert victim.get("/accounts/sessions/").status_code == 302


@pytest.mark.django_db
def test_sessions_page_speaks_traditional_chinese(user, password):
    client = sign_in(user, password)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hant"

    html = client.get("/accounts/sessions/").content.decode()

    assert "您的工作階段" in html and "此瀏覽器" in html and "Your sessions" not in html


@pytest.mark.django_db
def test_expired_sessions_are_not_listed(user, password, settings):
    client = sign_in(user, password)
    sign_in(user, password, user_agent=IPHONE)
    stale = UserSession.objects.get(user_agent=IPHONE)
    UserSession.objects.filter(pk=stale.pk).update(last_seen_at=stale.last_seen_at.replace(year=2000))

    listed = client.get("/api/sessions/").json()

    assert [row["browser"] for row in listed] == ["Firefox 133 on Linux"]
    assert not UserSession.objects.filter(pk=stale.pk).exists()
