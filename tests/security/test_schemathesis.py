"""Property-based API fuzzing with schemathesis against /api/schema/ (every operation).

Every operation gets a few generated requests (valid and invalid) against the security
tests' world (tests/security/conftest.py): half with generated path ids, half with the ids
of real objects, so detail endpoints answer 2xx too. Callers rotate between the project and
room owner, a member and an admin. Each request runs in a rolled-back savepoint, so a DELETE
does not take the world away from the next operation.

Checked on every answer (CHECKS): what `schemathesis run --checks all` runs, i.e. every
check schemathesis registers: no 5xx, the status code, the content type, the headers (429's
Retry-After) and the body are the ones the schema documents, schema-invalid input is refused,
a request without the documented auth is refused, an undocumented method is 405 with a
correct Allow header (and the stateful checks, which see nothing in these stateless calls);
plus every 4xx is the contract's error envelope. Left out: positive_data_acceptance (a
schema-valid body must be accepted): business rules such as a PATCH's current `version`,
unique keys or a foreign key that exists are refused with 400 by design and cannot be said
in OpenAPI.

Generated twice, as `schemathesis run` does: its fuzzing phase (Hypothesis) and its coverage
phase (boundaries, wrong types, empty and missing values, each media type, undocumented
methods), which found what fuzzing alone did not (an unreadable page_size served the default
page, `?external=maybe` the whole list, a form body's missing yes/no field was False).

Bounded: MAX_EXAMPLES per operation and mode, and one coverage case per scenario,
parameter and set of query parameters; no shrinking, no deadline; rate limits off (the
`world` fixture), as they are tested elsewhere.
"""

import functools
from decimal import Decimal

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # noqa: F401 (registers the OpenAPI checks)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS

pytestmark = [pytest.mark.timeout(400)]

MAX_EXAMPLES = 6
CALLERS = ("owner", "member", "admin")


def check_error_envelope(ctx, response, case) -> None:
    if response.status_code >= 400 and case.path.startswith("/api/"):
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error"}, f"not the error envelope: {str(body)[:300]}"
        error = body["error"]
        assert isinstance(error.get("code"), str) and error["code"], error
        assert isinstance(error.get("message"), str) and isinstance(error.get("details"), dict), error


AUTH_ENFORCED: set[str] = set()  # operations shown to refuse missing and invalid credentials


def once_per_operation(check):
    """ignored_auth as `schemathesis run` runs it: a 2xx of an operation that needs
    credentials is sent again without them and with invalid ones, once per operation and run
    ("enforcement is a property of the operation"), remembered in the check context's
    auth_enforced_operations. validate_response leaves that memory out, so every 2xx sent
    both probes again (a third of all requests here); this gives the check the run's memory."""

    @functools.wraps(check)
    def with_the_runs_memory(ctx, response, case):
        ctx.auth_enforced_operations = AUTH_ENFORCED
        return check(ctx, response, case)

    return with_the_runs_memory


LEFT_OUT = {"positive_data_acceptance"}  # see the module doc
CHECKS = [
    once_per_operation(check) if check.__name__ == "ignored_auth" else check
    for check in REGISTERED_CHECKS.get_all()
    if check.__name__ not in LEFT_OUT
] + [check_error_envelope]

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def api_schema(django_db_setup, django_db_blocker):
    from django.core.wsgi import get_wsgi_application

    with django_db_blocker.unblock():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


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


def real_ids(path: str, w: dict) -> dict:
    """Path parameters naming objects of the world, by the path's first segment."""
    top = path.split("/")[2]
    if top == "projects" and "/triggers/" in path:
        return {"project_id": w["P"], "id": w["TR"]}
    return {
        "attachments": {"id": w["A"]},
        "comments": {"id": w["C"]},
        "custom-fields": {"id": w["CF"]},
        "departments": {"id": w["D"]},
        "messages": {"id": w["MSG"], "emoji": "👀"},
        "notifications": {"id": w["N"]},
        "project-templates": {"id": w["PT"]},
        "projects": {"id": w["P"], "project_id": w["P"], "user_id": w["member"]},
        "room-files": {"id": w["RF"]},
        "room-templates": {"id": w["RT"]},
        "rooms": {"id": w["R"], "member_id": w["RMV"]},
        "statuses": {"id": w["S"]},
        "tasks": {"id": w["T"], "depends_on": w["T3"]},
        "triggers": {"id": w["TR"]},
        "users": {"id": w["member"]},
    }.get(top, {})


def strategies_for(operation, world) -> list:
    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in real_ids(operation.path, world).items() if k in names}
    found = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        found.append(operation.as_strategy(mode))
        if fixed:
            found.append(operation.as_strategy(mode, path_parameters=fixed))
    return found


def check_case(case, sent: dict, label: str, failures: dict, statuses: dict, succeeded: set) -> None:
    """Send one case, run every check on the answer, roll back what it wrote."""
    from django.db import transaction

    with transaction.atomic():
        try:
            response = case.call(headers=sent)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code < 300:
                succeeded.add(label)
            try:
                case.validate_response(response, checks=CHECKS, headers=sent)
            except BaseExceptionGroup as group:  # schemathesis' FailureGroup
                for failure in group.exceptions:
                    message = " | ".join((getattr(failure, "message", "") or str(failure)).splitlines())
                    title = getattr(failure, "title", type(failure).__name__)
                    failures.setdefault((label, title), f"[{response.status_code}] {message}")
            except AssertionError as exc:  # check_error_envelope
                failures.setdefault((label, "error envelope"), str(exc)[:300])
        finally:
            transaction.set_rollback(True)


def exercise(operation, world, headers, failures: dict, statuses: dict, succeeded: set) -> None:
    """MAX_EXAMPLES calls per strategy mix of one operation, each checked and rolled back."""
    label = f"{operation.method.upper()} {operation.path}"
    calls = [0]

    @SETTINGS
    @given(case=st.one_of(*strategies_for(operation, world)))
    def run(case):
        calls[0] += 1
        check_case(case, headers[calls[0] % len(headers)], label, failures, statuses, succeeded)

    run()


def _empty_multipart_field(case) -> bool:
    """Werkzeug, which carries these calls to the WSGI app, writes an empty multipart field
    without the line break before the next boundary, so Django never sees that field. Over
    HTTP (`schemathesis run`) it arrives and is refused; tests/security/test_bad_input.py
    sends it with Django's encoder."""
    body = case.body if isinstance(case.body, dict) else {}
    return (case.media_type or "").startswith("multipart/") and "" in body.values()


def coverage_cases(operation, world) -> list:
    """The coverage phase of `schemathesis run` (boundaries, wrong types, empty and missing
    values, each media type, undocumented methods), bounded to one case per scenario,
    parameter and set of query parameters sent. A case whose path is not the part under test gets the world's ids, so it
    reaches a real object rather than a 404."""
    from schemathesis.core.parameters import ParameterLocation

    names = {p.name for p in operation.path_parameters}
    fixed = {k: v for k, v in real_ids(operation.path, world).items() if k in names}
    generation = operation.schema.config.generation_for(operation=operation, phase="coverage")
    seen, cases = set(), []
    for case in operation.schema.iter_coverage_cases(
        operation,
        generation_modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        generation_config=generation,
        extra_data_source=None,
        error_feedback=None,
        session=None,
    ):
        data = case.meta.phase.data
        # Which query parameters come along matters: ?page=0 answers 404 before page_size is read.
        key = (data.scenario, data.parameter_location, data.parameter, tuple(sorted(case.query or {})))
        if key in seen or _empty_multipart_field(case):
            continue
        seen.add(key)
        path = case.meta.components.get(ParameterLocation.PATH)
        if fixed and (path is None or path.mode is GenerationMode.POSITIVE):
            case.path_parameters.update(fixed)
        cases.append(case)
    return cases


def test_the_checks_are_what_checks_all_runs_but_one():
    """The OpenAPI checks are registered (imported above), so `all` is more than no-5xx."""
    names = {check.__name__ for check in CHECKS}
    assert {"response_schema_conformance", "negative_data_rejection", "ignored_auth", "unsupported_method"} <= names
    assert "positive_data_acceptance" not in names and "check_error_envelope" in names


def test_every_operation(api_schema, world, keep_test_connection):
    """Bounded runs per operation; failures are collected so one report lists them all."""
    from rest_framework_simplejwt.tokens import AccessToken

    from contorl.accounts.models import User
    from tasks.models import Task

    # Values the schema must allow for: estimated_hours is a number, an e-mail may be blank.
    Task.objects.filter(pk=world["T"]).update(estimated_hours=Decimal("2.50"))
    User.objects.filter(pk=world["member"]).update(email="")
    headers = [{"Authorization": f"Bearer {AccessToken.for_user(world['users'][name])}"} for name in CALLERS]
    failures: dict[tuple, str] = {}
    statuses: dict[int, int] = {}
    succeeded: set[str] = set()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    coverage = 0
    AUTH_ENFORCED.clear()
    for operation in operations:
        exercise(operation, world, headers, failures, statuses, succeeded)
        label = f"{operation.method.upper()} {operation.path}"
        for i, case in enumerate(coverage_cases(operation, world)):
            check_case(case, headers[i % len(headers)], label, failures, statuses, succeeded)
            coverage += 1
    print(
        f"schemathesis: {dict(sorted(statuses.items()))} ({coverage} coverage cases);"
        f" {len(succeeded)}/{len(operations)} operations got a 2xx, {len(AUTH_ENFORCED)} shown to enforce auth"
    )
    report = [f"{label}: {title}: {message[:400]}" for (label, title), message in sorted(failures.items())]
    assert report == [], f"{len(report)} schema mismatches:\n" + "\n".join(report)
    assert len(operations) >= 100, "the schema lists every operation"
    # Writes seldom succeed on generated bodies (a PATCH needs the current version), reads do.
    missing = sorted({f"{o.method.upper()} {o.path}" for o in operations} - succeeded)
    assert len(succeeded) >= 80, f"the world's objects are reached, responses validated: not 2xx: {missing}"
    # ignored_auth probed each of them without and with invalid credentials (once).
    assert len(AUTH_ENFORCED) >= 80, sorted(AUTH_ENFORCED)
