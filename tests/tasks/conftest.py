import pytest

from .factories import TaskFactory, make_project


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # The root conftest's FAST_PASSWORD_HASHER env var is read too late to matter; users are
    # created in most tests here, and PBKDF2 costs ~0.6 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(make_user):
    return make_user("alice", first_name="Alice")


@pytest.fixture
def viewer(make_user):
    return make_user("dave")


@pytest.fixture
def outsider(make_user, other_department):
    return make_user("eve", department=other_department)


@pytest.fixture
def project(owner, user, viewer):
    """alice owner, bob (the `user`/`api` fixture) member, dave viewer."""
    return make_project(owner, members=[(user, "member"), (viewer, "viewer")])


@pytest.fixture
def statuses(project):
    return list(project.statuses.order_by("order"))


@pytest.fixture
def make_task(project):
    def make(**fields):
        fields.setdefault("project", project)
        return TaskFactory(**fields)

    return make


@pytest.fixture
def task(make_task):
    return make_task(title="Calibrate line 3")


@pytest.fixture
def admin_client(client, make_user):
    """Django test client logged in to the Django admin as a superuser."""
    root = make_user("superroot", is_superuser=True, is_staff=True, is_system_admin=True)
    client.force_login(root)
    return client
