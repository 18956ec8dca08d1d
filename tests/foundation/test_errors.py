"""Every API error uses the contract envelope."""

import pytest

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]


def test_401_without_credentials(anon_api):
    response = anon_api.get("/api/users/me/")
    assert_envelope(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_401_with_a_forged_token(anon_api):
    anon_api.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert_envelope(anon_api.get("/api/users/"), 401, "not_authenticated")


def test_403_for_a_member_on_an_admin_endpoint(api, user):
    assert_envelope(api.patch(f"/api/users/{user.pk}/", {"role": "manager", "version": 1}), 403, "permission_denied")
    assert_envelope(
        api.patch(f"/api/users/{user.pk}/admin/", {"is_system_admin": True, "version": 1}), 403, "permission_denied"
    )
    user.refresh_from_db()
    assert user.role == "engineer" and not user.is_system_admin


def test_404_for_unknown_object_and_unknown_api_path(api):
    assert_envelope(api.get("/api/users/999999/"), 404, "not_found")
    assert_envelope(api.get("/api/no-such-thing/"), 404, "not_found")


def test_405_for_a_wrong_method(api):
    assert_envelope(api.delete("/api/users/me/"), 405, "method_not_allowed")


def test_400_validation_details_name_the_field(admin_api, user):
    error = assert_envelope(
        admin_api.patch(f"/api/users/{user.pk}/", {"role": "emperor", "version": 1}), 400, "validation_error"
    )
    assert "role" in error["details"]
    user.refresh_from_db()
    assert user.role == "engineer"


@pytest.mark.parametrize("body", ['{"role": "manager",', "[1, 2", "\x00\x01", '{"version": NaN}'])
def test_malformed_json_is_a_clean_400(admin_api, user, body):
    response = admin_api.generic("PATCH", f"/api/users/{user.pk}/", body, content_type="application/json")
    assert_envelope(response, 400, "validation_error")


@pytest.mark.parametrize("version", [None, "abc", True, 0, -3, 2**40, [1]])
def test_missing_or_malformed_version_is_400(admin_api, user, version):
    payload = {"role": "manager"}
    if version is not None:
        payload["version"] = version
    error = assert_envelope(admin_api.patch(f"/api/users/{user.pk}/", payload), 400, "validation_error")
    assert "version" in error["details"]


def test_stale_version_is_409_with_the_current_representation(admin_api, user):
    ok = admin_api.patch(f"/api/users/{user.pk}/", {"role": "manager", "version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2
    error = assert_envelope(
        admin_api.patch(f"/api/users/{user.pk}/", {"role": "operator", "version": 1}), 409, "version_conflict"
    )
    assert error["details"]["your_version"] == 1
    assert error["details"]["current_version"] == 2
    assert error["details"]["current"]["role"] == "manager"
    assert error["details"]["current"]["version"] == 2


def test_oversized_body_is_413(admin_api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = admin_api.patch(f"/api/users/{user.pk}/", {"role": "manager", "version": 1, "pad": "x" * 5000})
    assert_envelope(response, 413, "payload_too_large")


def test_html_404_outside_the_api(client, user):
    client.force_login(user)
    response = client.get("/definitely-not-here/")
    assert response.status_code == 404
    assert b"<html" in response.content
