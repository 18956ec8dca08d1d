"""A 401 says in words (English or Traditional Chinese) why, never a Python repr."""

import datetime

import pytest
from django.utils import timezone, translation
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db

EN = "Your sign-in has expired or is not valid. Sign in again."
ZH = "您的登入已過期或無效，請重新登入。"


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    translation.deactivate()  # LocaleMiddleware leaves the request language on this thread


def expired_access(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - datetime.timedelta(hours=1), lifetime=datetime.timedelta(minutes=1))
    return str(token)


def assert_readable_401(response, message):
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["code"] == "not_authenticated"
    assert error["message"] == message
    assert "ErrorDetail" not in response.content.decode() and "{" not in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("language", "message"), [("en", EN), ("zh-hant", ZH)])
def test_an_invalid_access_token_gets_a_plain_message(anon_api, language, message):
    response = anon_api.get("/api/users/me/", HTTP_AUTHORIZATION="Bearer not-a-token", HTTP_ACCEPT_LANGUAGE=language)
    assert_readable_401(response, message)


@pytest.mark.parametrize(("language", "message"), [("en", EN), ("zh-hant", ZH)])
def test_an_expired_access_token_gets_a_plain_message(anon_api, user, language, message):
    response = anon_api.get(
        "/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {expired_access(user)}", HTTP_ACCEPT_LANGUAGE=language
    )
    assert_readable_401(response, message)


@pytest.mark.parametrize(("language", "message"), [("en", EN), ("zh-hant", ZH)])
def test_an_invalid_refresh_token_gets_a_plain_message(anon_api, language, message):
    response = anon_api.post(
        "/api/auth/token/refresh/", {"refresh": "garbage"}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    assert_readable_401(response, message)


def test_an_access_token_is_no_refresh_token(anon_api, user):
    access = str(RefreshToken.for_user(user).access_token)
    response = anon_api.post("/api/auth/token/refresh/", {"refresh": access}, format="json")
    assert_readable_401(response, EN)


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "No active account found with the given credentials"), ("zh-hant", "帳號或密碼不正確，或帳號已停用。")],
)
def test_a_wrong_password_is_translated(anon_api, user, language, message):
    response = anon_api.post(
        "/api/auth/token/", {"username": user.username, "password": "nope"}, HTTP_ACCEPT_LANGUAGE=language
    )
    assert_readable_401(response, message)


def test_a_signed_out_token_says_so_in_chinese(anon_api, user):
    from contorl.accounts.models import User

    access = str(RefreshToken.for_user(user).access_token)
    User.objects.filter(pk=user.pk).update(tokens_valid_after=timezone.now() + datetime.timedelta(seconds=5))
    response = anon_api.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert_readable_401(response, "此權杖已被登出。")


@pytest.mark.parametrize(
    ("header", "language", "message"),
    [
        # No credentials at all: DRF's own zh_Hant catalogue lacks this sentence.
        (None, "en", "Authentication credentials were not provided."),
        (None, "zh-hant", "未提供登入憑證，請先登入。"),
        # A malformed header: simplejwt has no Traditional Chinese catalogue.
        ("Bearer", "en", "Authorization header must contain two space-delimited values"),
        ("Bearer", "zh-hant", "Authorization 標頭必須是以空格分隔的兩個值。"),
        ("Bearer a b", "zh-hant", "Authorization 標頭必須是以空格分隔的兩個值。"),
    ],
)
def test_a_missing_or_malformed_authorization_is_translated(anon_api, header, language, message):
    extra = {"HTTP_ACCEPT_LANGUAGE": language}
    if header is not None:
        extra["HTTP_AUTHORIZATION"] = header
    assert_readable_401(anon_api.get("/api/users/me/", **extra), message)


def test_a_deactivated_users_token_says_so_in_chinese(anon_api, user):
    access = str(RefreshToken.for_user(user).access_token)
    user.is_active = False
    user.save()
    response = anon_api.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {access}", HTTP_ACCEPT_LANGUAGE="zh-hant")
    assert_readable_401(response, "此帳號已停用。")
