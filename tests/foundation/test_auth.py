import pytest

pytestmark = pytest.mark.django_db


def test_jwt_obtain_use_and_refresh(anon_api, user, password):
    tokens = anon_api.post("/api/auth/token/", {"username": user.username, "password": password})
    assert tokens.status_code == 200
    assert set(tokens.json()) == {"access", "refresh"}
    anon_api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}")
    me = anon_api.get("/api/users/me/")
    assert me.status_code == 200 and me.json()["username"] == user.username
    refreshed = anon_api.post("/api/auth/token/refresh/", {"refresh": tokens.json()["refresh"]})
    assert refreshed.status_code == 200 and refreshed.json()["access"]


def test_jwt_wrong_password_is_401_in_the_envelope(anon_api, user):
    response = anon_api.post("/api/auth/token/", {"username": user.username, "password": "nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_inactive_user_gets_no_token(anon_api, user, password):
    user.is_active = False
    user.save()
    assert anon_api.post("/api/auth/token/", {"username": user.username, "password": password}).status_code == 401


def test_session_login_page_signs_in_and_out(client, user, password):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/accounts/login/", {"username": user.username, "password": password})
    assert response.status_code == 302
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and user.username.encode() in dashboard.content
    # The session also authenticates the API.
    assert client.get("/api/users/me/").json()["username"] == user.username
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_stays_on_login_page(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": "bad"})
    assert response.status_code == 200
    assert b"didn" in response.content
    assert client.get("/").status_code == 302


def test_csrf_is_enforced_for_session_api_writes(user, admin_user, password):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    response = browser.patch(
        f"/api/users/{user.pk}/", {"role": "manager", "version": 1}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_users_list_me_and_departments(api, user, other_user, department):
    users = api.get("/api/users/")
    assert users.status_code == 200
    names = {u["username"] for u in users.json()["results"]}
    assert {user.username, other_user.username} <= names
    deps = api.get("/api/departments/").json()["results"]
    assert any(d["code"] == department.code for d in deps)


def test_admin_changes_role_and_admin_flag(admin_api, user, other_department):
    response = admin_api.patch(
        f"/api/users/{user.pk}/",
        {"role": "supervisor", "department": other_department.pk, "is_department_manager": True, "version": 1},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["role"], body["department"], body["is_department_manager"], body["version"]) == (
        "supervisor",
        other_department.pk,
        True,
        2,
    )
    response = admin_api.patch(f"/api/users/{user.pk}/admin/", {"is_system_admin": True, "version": 2})
    assert response.status_code == 200 and response.json()["is_system_admin"] is True
    user.refresh_from_db()
    assert user.is_admin and user.is_staff and user.version == 3


def test_member_cannot_create_departments(api):
    response = api.post("/api/departments/", {"name": "X", "code": "X"})
    assert response.status_code == 403


def test_openapi_schema_and_docs(api, client, user):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/users/me/" in schema.json()["paths"]
    client.force_login(user)
    assert client.get("/api/docs/").status_code == 200


def test_an_access_token_follows_its_account(anon_api, user, other_user):
    """The account behind a token is read afresh on every request (a prepared lookup, compiled
    once): a renamed account shows its new name, and a token whose account is deactivated,
    deleted or not named by a whole number stops working, each a 401 in the envelope."""
    from rest_framework_simplejwt.tokens import AccessToken

    def me(token):
        anon_api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return anon_api.get("/api/users/me/")

    token = AccessToken.for_user(user)
    assert me(token).json()["username"] == user.username
    user.first_name = "Renamed"
    user.save()
    assert me(token).json()["first_name"] == "Renamed"
    assert me(AccessToken.for_user(other_user)).json()["username"] == other_user.username
    for claim in ("abc", "-1", "1.5", 10**30, str(other_user.pk + 10_000)):
        forged = AccessToken.for_user(user)
        forged["user_id"] = claim
        response = me(forged)
        assert response.status_code == 401, claim
        assert response.json()["error"]["code"] == "not_authenticated"
    user.is_active = False
    user.save()
    assert me(token).status_code == 401
    other_token = AccessToken.for_user(other_user)
    other_user.delete()
    assert me(other_token).status_code == 401
