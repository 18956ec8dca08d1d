"""Directory sign-in against a real OpenLDAP slapd (tests/ops/conftest.py starts it)."""

import json
import subprocess

import environ
import pytest

pytest.importorskip("ldap", reason="python-ldap (requirements-ldap.txt) is not installed")
from django.contrib.auth import authenticate

from audit.models import AuditLog
from contorl.accounts.ldap import directory_account_disabled
from contorl.accounts.models import Department, User
from contorl.ldap import parse_group_map, settings_from_env

from .conftest import LDAP_PASSWORD, LDAP_SUFFIX

GROUP_MAP = json.dumps(
    {
        "CONTORL-Admins": {"system_admin": True},
        f"cn=prod-managers,ou=groups,{LDAP_SUFFIX}": {
            "department": "PROD",
            "role": "manager",
            "department_manager": True,
        },
        "prod-operators": {"department": "PROD", "role": "operator"},
    }
)


def use_directory(settings, monkeypatch, uri: str, **extra) -> None:
    """What settings.py does when LDAP_SERVER_URI is set, with this test's directory."""
    for name, value in {
        **extra,
        "LDAP_SERVER_URI": uri,
        "LDAP_BIND_DN": f"cn=admin,{LDAP_SUFFIX}",
        "LDAP_BIND_PASSWORD": "directory-root-secret",
        "LDAP_USER_SEARCH_BASE": f"ou=people,{LDAP_SUFFIX}",
        "LDAP_GROUP_SEARCH_BASE": f"ou=groups,{LDAP_SUFFIX}",
        "LDAP_ATTR_DEPARTMENT": "departmentNumber",
        "LDAP_GROUP_MAP": GROUP_MAP,
        "LDAP_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    for name, value in settings_from_env(environ.Env()).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [
        "contorl.accounts.ldap.DirectoryBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]


@pytest.fixture
def departments(department):  # the root fixture's department is PROD
    return {"PROD": department, "MAINT": Department.objects.create(name="Maintenance", code="MAINT")}


@pytest.fixture
def directory(settings, monkeypatch, slapd, departments):
    use_directory(settings, monkeypatch, slapd.uri)
    return slapd


def test_first_sign_in_creates_the_user_from_attributes_and_groups(directory):
    user = authenticate(username="ada", password=LDAP_PASSWORD)

    assert user is not None and user.backend == "contorl.accounts.ldap.DirectoryBackend"
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@corp.test")
    assert user.department.code == "PROD"
    assert user.role == "manager" and user.is_department_manager
    assert user.is_system_admin and user.is_staff and user.is_admin
    assert not user.has_usable_password()  # the directory holds the password, never CONTORL
    grant = AuditLog.objects.get(event_type="user.admin_change", object_id=str(user.pk))
    assert grant.sensitivity == "critical"
    assert grant.changes == {"is_system_admin": [False, True]}


def test_every_sign_in_refreshes_from_the_directory(directory):
    ada = authenticate(username="ada", password=LDAP_PASSWORD)
    directory.modify(
        f"dn: cn=CONTORL-Admins,ou=groups,{LDAP_SUFFIX}\nchangetype: modify\ndelete: member\n"
        f"member: uid=ada,ou=people,{LDAP_SUFFIX}\n-\nadd: member\nmember: uid=eve,ou=people,{LDAP_SUFFIX}\n\n"
        f"dn: uid=ada,ou=people,{LDAP_SUFFIX}\nchangetype: modify\nreplace: mail\nmail: ada.l@corp.test\n"
    )
    try:
        again = authenticate(username="ada", password=LDAP_PASSWORD)
        assert again.pk == ada.pk
        again.refresh_from_db()
        assert again.email == "ada.l@corp.test"
        assert not again.is_system_admin and not again.is_staff
        revoke = AuditLog.objects.filter(event_type="user.admin_change", object_id=str(ada.pk)).order_by("id").last()
        assert revoke.changes == {"is_system_admin": [True, False]} and revoke.sensitivity == "critical"
    finally:
        directory.modify(
            f"dn: cn=CONTORL-Admins,ou=groups,{LDAP_SUFFIX}\nchangetype: modify\nadd: member\n"
            f"member: uid=ada,ou=people,{LDAP_SUFFIX}\n-\ndelete: member\nmember: uid=eve,ou=people,{LDAP_SUFFIX}\n\n"
            f"dn: uid=ada,ou=people,{LDAP_SUFFIX}\nchangetype: modify\nreplace: mail\nmail: ada@corp.test\n"
        )


def test_role_from_group_and_department_from_attribute(directory):
    eve = authenticate(username="eve", password=LDAP_PASSWORD)
    carl = authenticate(username="carl", password=LDAP_PASSWORD)

    assert (eve.role, eve.department.code, eve.is_department_manager, eve.is_system_admin) == (
        "operator",
        "PROD",
        False,
        False,
    )
    assert (carl.role, carl.department.code) == ("engineer", "MAINT")  # default role; departmentNumber
    assert not AuditLog.objects.filter(event_type="user.admin_change").exists()  # nobody became admin
    assert AuditLog.objects.filter(event_type="user.role_change", object_id=str(eve.pk)).exists()


def test_wrong_password_and_unknown_user_are_refused(directory):
    assert authenticate(username="ada", password="wrong") is None
    assert authenticate(username="nobody", password=LDAP_PASSWORD) is None
    assert not User.objects.filter(username__in=["ada", "nobody"]).exists()


def test_disabled_directory_account_cannot_sign_in_and_loses_access(directory):
    dora = User.objects.create(username="dora", is_active=True)  # signed in before she was disabled
    dora.set_unusable_password()
    dora.save()

    assert authenticate(username="dora", password=LDAP_PASSWORD) is None

    dora.refresh_from_db()
    assert not dora.is_active
    assert AuditLog.objects.filter(event_type="auth.signed_out_everywhere", object_id=str(dora.pk)).exists()


def test_disabled_dialects():
    assert directory_account_disabled({"userAccountControl": ["514"]})  # AD: NORMAL_ACCOUNT | ACCOUNTDISABLE
    assert not directory_account_disabled({"userAccountControl": ["512"]})
    assert directory_account_disabled({"shadowExpire": ["1"]})
    assert not directory_account_disabled({"shadowExpire": ["-1"]})
    assert directory_account_disabled({"pwdAccountLockedTime": ["000001010000Z"]})
    assert directory_account_disabled({"nsAccountLock": ["TRUE"]})
    assert not directory_account_disabled({})


def test_group_map_is_validated_at_start_up():
    from django.core.exceptions import ImproperlyConfigured

    assert parse_group_map('{"A": {"role": "manager"}}') == {"a": {"role": "manager"}}
    for bad in ("[1]", "{not json", '{"A": {"role": "king"}}', '{"A": {"superuser": true}}'):
        with pytest.raises(ImproperlyConfigured):
            parse_group_map(bad)


def test_local_admin_signs_in_while_the_directory_is_down(client, settings, monkeypatch, departments, make_user):
    from .conftest import free_port

    use_directory(settings, monkeypatch, f"ldap://127.0.0.1:{free_port()}")  # nothing listens there
    make_user("root", is_system_admin=True, is_staff=True)

    response = client.post("/accounts/login/", {"username": "root", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302
    client.logout()

    response = client.post("/accounts/login/", {"username": "ada", "password": LDAP_PASSWORD})
    assert response.status_code == 200
    assert "company directory could not be reached" in response.content.decode()


def test_local_account_is_never_overwritten_by_a_directory_namesake(directory, make_user):
    """The directory has a 'root' too; the local break-glass admin keeps its password and rights."""
    root = make_user("root", is_system_admin=True, is_staff=True)

    assert authenticate(username="root", password=LDAP_PASSWORD) is None  # directory password: no
    assert authenticate(username="root", password="correct-horse-battery-staple").pk == root.pk
    root.refresh_from_db()
    assert root.is_system_admin and root.email == "root@example.com"


def test_directory_sign_in_through_the_login_page_is_tracked_as_a_session(client, directory):
    response = client.post("/accounts/login/", {"username": "eve", "password": LDAP_PASSWORD})

    assert response.status_code == 302
    eve = User.objects.get(username="eve")
    assert eve.browser_sessions.get().backend == "contorl.accounts.ldap.DirectoryBackend"


def test_sign_in_over_ldaps_checks_the_server_certificate(settings, monkeypatch, slapd, departments):
    use_directory(settings, monkeypatch, slapd.ldaps_uri, LDAP_TLS_CA_FILE=slapd.ca_file)
    assert authenticate(username="eve", password=LDAP_PASSWORD).email == "eve@corp.test"


def test_ldaps_with_an_untrusted_certificate_is_refused(settings, monkeypatch, slapd, departments, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other",
         "-keyout", str(tmp_path / "other.key"), "-out", str(other_ca)],
        check=True, capture_output=True,
    )  # fmt: skip
    use_directory(settings, monkeypatch, slapd.ldaps_uri, LDAP_TLS_CA_FILE=str(other_ca))

    assert authenticate(username="eve", password=LDAP_PASSWORD) is None
    assert not User.objects.filter(username="eve").exists()
