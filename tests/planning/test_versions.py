"""Every planning entity: version 1 at creation, +1 per successful write (API PATCH), a stale
version refused with 409 version_conflict + details.current and nothing changed."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planning import services
from planning.models import (
    Actual,
    Portfolio,
    Program,
    ProjectLink,
    ProjectPhase,
    Rate,
    ResourceAssignment,
    ScopeAssignment,
    Worker,
    WorkerException,
    WorkerType,
)
from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db
D = datetime.date
_n = itertools.count()


def _entities(ctx):
    """name -> (url prefix, model, make() -> obj, body(i) -> PATCH fields, field to compare)."""
    by, project = ctx["admin"], ctx["project"]

    def worker_type():
        return services.worker_type_create(by=by, name=f"type {next(_n)}")

    def worker():
        return services.worker_create(by=by, worker_type=ctx["welder"], name=f"w {next(_n)}")

    return {
        "portfolios": (Portfolio, lambda: services.portfolio_create(by=by, name="p"), lambda i: {"name": f"p{i}"}),
        "programs": (
            Program,
            lambda: services.program_create(by=by, portfolio=ctx["portfolio"], name="g"),
            lambda i: {"name": f"g{i}"},
        ),
        "project-links": (
            ProjectLink,
            lambda: services.link_create(by=by, project=make_project(ctx["owner"]), program=ctx["program"]),
            lambda i: {"program": (ctx["program"], ctx["program2"])[i % 2].pk},
        ),
        "phases": (
            ProjectPhase,
            lambda: services.phase_create(by=by, project=project, name="ph", start=D(2026, 1, 5), end=D(2026, 1, 9)),
            lambda i: {"name": f"ph{i}"},
        ),
        "worker-types": (WorkerType, worker_type, lambda i: {"name": f"t{i}"}),
        "rates": (
            Rate,
            lambda: services.rate_create(
                by=by, worker_type=worker_type(), cost_per_hour=Decimal(10), valid_from=D(2026, 1, 1)
            ),
            lambda i: {"cost_per_hour": f"{10 + i}.25"},
        ),
        "workers": (Worker, worker, lambda i: {"weekly_capacity_hours": str(20 + i)}),
        "worker-exceptions": (
            WorkerException,
            lambda: services.exception_create(
                by=by, worker=worker(), start=D(2026, 2, 2), end=D(2026, 2, 3), hours_off=Decimal(8)
            ),
            lambda i: {"hours_off": str(1 + i % 8)},
        ),
        "assignments": (
            ResourceAssignment,
            lambda: services.assignment_create(
                by=by,
                project=project,
                worker=worker(),
                start=D(2026, 2, 2),
                end=D(2026, 2, 6),
                hours_per_day=Decimal(4),
            ),
            lambda i: {"hours_per_day": str(1 + i % 8)},
        ),
        "actuals": (
            Actual,
            lambda: services.actual_create(
                by=by, project=project, worker=worker(), date=D(2026, 2, 2), hours=Decimal(3)
            ),
            lambda i: {"hours": str(1 + i % 8)},
        ),
        "roles": (
            ScopeAssignment,
            lambda: services.grant_create(by=by, user=ctx["make_user"](), role="viewer", project=project),
            lambda i: {"role": ("planner", "manager", "viewer")[i % 3]},
        ),
    }


@pytest.fixture
def ctx(admin_user, owner, project, welder, portfolio, program, make_user):
    program2 = services.program_create(by=admin_user, portfolio=portfolio, name="Other")
    return {
        "admin": admin_user,
        "owner": owner,
        "project": project,
        "welder": welder,
        "portfolio": portfolio,
        "program": program,
        "program2": program2,
        "make_user": make_user,
    }


steps = st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=1, max_size=4)
ENTITIES = [
    "portfolios",
    "programs",
    "project-links",
    "phases",
    "worker-types",
    "rates",
    "workers",
    "worker-exceptions",
    "assignments",
    "actuals",
    "roles",
]


@pytest.mark.parametrize("entity", ENTITIES)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_version_starts_at_one_and_counts_every_write(entity, plan, ctx, admin_api):
    # Fresh rate-limit counters per example: 8 examples x 4 role PATCHes would pass the
    # sensitive tier (20/m) within one test and answer 429 instead of the version's answer.
    cache.clear()
    model, make, body = _entities(ctx)[entity]
    obj = make()
    assert obj.version == 1
    url = f"/api/planning/{entity}/{obj.pk}/"
    got = admin_api.get(url)
    assert got.status_code == 200 and got.json()["version"] == 1
    expected = 1
    for i, (stale, n) in enumerate(plan):
        if stale:
            wrong = expected + 1 + n if n % 2 or expected == 1 else max(1, expected - 1 - n)
            before = model._base_manager.filter(pk=obj.pk).values().get()
            r = admin_api.patch(url, {**body(i), "version": wrong}, format="json")
            assert r.status_code == 409, r.content
            error = r.json()["error"]
            assert error["code"] == "version_conflict"
            assert error["details"]["current_version"] == expected
            assert error["details"]["current"]["version"] == expected
            assert error["details"]["current"]["id"] == obj.pk
            assert model._base_manager.filter(pk=obj.pk).values().get() == before
        else:
            r = admin_api.patch(url, {**body(i), "version": expected}, format="json")
            assert r.status_code == 200, r.content
            expected += 1
            assert r.json()["version"] == expected
            assert model._base_manager.get(pk=obj.pk).version == expected


@pytest.mark.parametrize("entity", ["assignments", "phases", "workers"])
def test_patch_without_version_is_400_and_stale_delete_409(entity, ctx, admin_api):
    model, make, body = _entities(ctx)[entity]
    obj = make()
    url = f"/api/planning/{entity}/{obj.pk}/"
    r = admin_api.patch(url, body(1), format="json")
    assert r.status_code == 400 and r.json()["error"]["details"]["version"]
    assert admin_api.delete(f"{url}?version=7").status_code == 409
    assert model.objects.filter(pk=obj.pk).exists()
    assert admin_api.delete(f"{url}?version=1").status_code == 204
    # Soft delete: gone from the API and the default manager, kept in the table.
    assert not model.objects.filter(pk=obj.pk).exists()
    row = model.all_objects.get(pk=obj.pk)
    assert row.is_deleted and row.version == 2
    assert admin_api.get(url).status_code == 404
