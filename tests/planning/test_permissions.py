"""Scope inheritance matrix (role x scope x operation), tasks roles carried over, and every
grant / role change / revoke audited as a permission change."""

import datetime
from decimal import Decimal

import pytest

from audit.models import AuditLog
from planning import services
from planning.models import ScopeAssignment
from tests.tasks.factories import make_project

pytestmark = pytest.mark.django_db
D = datetime.date
RANK = {"viewer": 1, "planner": 2, "manager": 3}


@pytest.fixture
def world(admin_user, owner, project, other_project, program, linked, worker):
    """`project` is in `program` (in `portfolio`); `other_project` stands alone."""
    a_in = services.assignment_create(
        by=admin_user, project=project, worker=worker, start=D(2026, 2, 2), end=D(2026, 2, 6), hours_per_day=Decimal(4)
    )
    a_out = services.assignment_create(
        by=admin_user,
        project=other_project,
        worker=worker,
        start=D(2026, 2, 2),
        end=D(2026, 2, 6),
        hours_per_day=Decimal(4),
    )
    return {"a_in": a_in, "a_out": a_out, "program": program, "portfolio": program.portfolio}


def _ops(api, world, project, worker, welder, someone):
    program = world["program"]
    return {
        "read_in": api.get(f"/api/planning/assignments/{world['a_in'].pk}/").status_code,
        "read_out": api.get(f"/api/planning/assignments/{world['a_out'].pk}/").status_code,
        "list_in": len(api.get(f"/api/planning/assignments/?project={project.pk}").json()["results"]),
        "assign": api.post(
            "/api/planning/assignments/",
            {
                "project": project.pk,
                "worker": worker.pk,
                "start": "2026-03-02",
                "end": "2026-03-03",
                "hours_per_day": "2",
            },
        ).status_code,
        "phase": api.post(
            "/api/planning/phases/",
            {"project": project.pk, "name": "Design", "start": "2026-03-02", "end": "2026-03-06"},
        ).status_code,
        "report_program": api.get(f"/api/planning/plan-vs-actual/?program={program.pk}").status_code,
        "edit_program": api.patch(
            f"/api/planning/programs/{program.pk}/", {"name": "renamed", "version": program.version}
        ).status_code,
        "rate": api.post(
            "/api/planning/rates/", {"worker_type": welder.pk, "cost_per_hour": "1.00", "valid_from": "2031-01-01"}
        ).status_code,
        "grant": api.post(
            "/api/planning/roles/", {"user": someone.pk, "role": "viewer", "project": project.pk}
        ).status_code,
    }


@pytest.mark.parametrize("scope", ["portfolio", "program", "project"])
@pytest.mark.parametrize("role", ["viewer", "planner", "manager"])
def test_scope_inheritance_matrix(role, scope, world, api_for, admin_user, make_user, project, worker, welder):
    user, someone = make_user("gina"), make_user("zed")
    target = {"portfolio": world["portfolio"], "program": world["program"], "project": project}[scope]
    services.grant_create(by=admin_user, user=user, role=role, **{scope: target})
    rank = RANK[role]
    expected = {
        "read_in": 200,
        "read_out": 404,  # a standalone project inherits nothing
        "list_in": 1,
        "assign": 201 if rank >= 2 else 403,
        "phase": 201 if rank >= 3 else 403,
        # a project grant does not reach up: the program's report is not theirs
        "report_program": 404 if scope == "project" else 200,
        # the program is visible (read-only) to someone with a role below it
        "edit_program": 200 if rank >= 3 and scope != "project" else 403,
        "rate": 201 if rank >= 3 else 403,
        "grant": 201 if rank >= 3 else 403,
    }
    assert _ops(api_for(user), world, project, worker, welder, someone) == expected


@pytest.mark.parametrize(
    ("task_role", "assign", "phase"), [("owner", 201, 201), ("member", 201, 403), ("viewer", 403, 403)]
)
def test_tasks_roles_keep_their_rights(task_role, assign, phase, api_for, owner, make_user, worker):
    person = make_user("pat")
    project = make_project(owner, members=[(person, task_role)] if task_role != "owner" else [])
    if task_role == "owner":
        project = make_project(person)
    api = api_for(person)
    body = {
        "project": project.pk,
        "worker": worker.pk,
        "start": "2026-03-02",
        "end": "2026-03-03",
        "hours_per_day": "2",
    }
    assert api.post("/api/planning/assignments/", body).status_code == assign
    phase_body = {"project": project.pk, "name": "P", "start": "2026-03-02", "end": "2026-03-03"}
    assert api.post("/api/planning/phases/", phase_body).status_code == phase


def test_strangers_see_nothing_and_creating_in_an_invisible_project_is_400(api_for, make_user, world, project, worker):
    api = api_for(make_user("nobody"))
    assert api.get(f"/api/planning/assignments/{world['a_in'].pk}/").status_code == 404
    assert api.get("/api/planning/assignments/").json()["count"] == 0
    assert api.get("/api/planning/portfolios/").json()["count"] == 0
    assert api.get("/api/planning/rates/").json()["count"] == 0
    r = api.post(
        "/api/planning/assignments/",
        {"project": project.pk, "worker": worker.pk, "start": "2026-03-02", "end": "2026-03-03", "hours_per_day": "2"},
    )
    assert r.status_code == 400 and "project" in r.json()["error"]["details"]
    assert api.get(f"/api/planning/plan-vs-actual/?project={project.pk}").status_code == 404


def test_grant_change_and_revoke_are_audited_permission_changes(api_for, admin_user, make_user, world, project):
    manager = make_user("mona")
    services.grant_create(by=admin_user, user=manager, role="manager", program=world["program"])
    target = make_user("tom")
    api = api_for(manager)
    created = api.post("/api/planning/roles/", {"user": target.pk, "role": "viewer", "project": project.pk})
    assert created.status_code == 201, created.content
    grant = created.json()
    assert (grant["scope_type"], grant["scope_id"], grant["version"]) == ("project", project.pk, 1)
    changed = api.patch(f"/api/planning/roles/{grant['id']}/", {"role": "planner", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert api.patch(f"/api/planning/roles/{grant['id']}/", {"role": "manager", "version": 1}).status_code == 409
    assert api.delete(f"/api/planning/roles/{grant['id']}/").status_code == 204
    assert not ScopeAssignment.objects.filter(pk=grant["id"]).exists()
    entries = AuditLog.objects.filter(event_type="planning.permission_change", object_id=str(grant["id"])).order_by(
        "id"
    )
    assert [e.changes["action"] for e in entries] == ["grant", "change", "revoke"]
    assert all(e.sensitivity == "high" and e.actor_id == manager.pk for e in entries)
    assert entries[1].changes["role"] == ["viewer", "planner"]
    # Two scopes at once, or none: refused.
    both = api.post(
        "/api/planning/roles/",
        {"user": target.pk, "role": "viewer", "project": project.pk, "program": world["program"].pk},
    )
    assert both.status_code == 400


def test_revoked_role_takes_effect_in_the_same_process(api_for, admin_user, make_user, world):
    user = make_user("ray")
    grant = services.grant_create(by=admin_user, user=user, role="viewer", portfolio=world["portfolio"])
    api = api_for(user)
    assert api.get(f"/api/planning/assignments/{world['a_in'].pk}/").status_code == 200
    services.grant_delete(grant=grant, by=admin_user)
    assert api.get(f"/api/planning/assignments/{world['a_in'].pk}/").status_code == 404


def test_workers_see_and_log_their_own_actuals(api_for, admin_user, make_user, project, worker, owner):
    from tasks.models import ProjectMember

    ProjectMember.objects.create(project=project, user=worker.user, role="viewer")
    api = api_for(worker.user)
    mine = api.post(
        "/api/planning/actuals/", {"project": project.pk, "worker": worker.pk, "date": "2026-02-02", "hours": "3"}
    )
    assert mine.status_code == 201, mine.content
    other = services.worker_create(by=admin_user, worker_type=worker.worker_type, name="Other")
    theirs = api.post(
        "/api/planning/actuals/", {"project": project.pk, "worker": other.pk, "date": "2026-02-02", "hours": "3"}
    )
    assert theirs.status_code == 403


def test_services_check_rights_whatever_door_the_write_comes_through(admin_user, make_user, world, worker, welder):
    """The services, not the API views, enforce who may write: a direct call (admin form,
    seed, Celery task) meets the same 404 / 403 / 400 answers as the API."""
    from contorl.errors import Forbidden, NotFound, ValidationFailed

    stranger, viewer = make_user("sid"), make_user("val")
    services.grant_create(by=admin_user, user=viewer, role="viewer", program=world["program"])
    a_in = world["a_in"]
    with pytest.raises(NotFound):
        services.assignment_update(assignment=a_in, version=a_in.version, by=stranger, note="x")
    with pytest.raises(Forbidden):
        services.assignment_update(assignment=a_in, version=a_in.version, by=viewer, note="x")
    with pytest.raises(ValidationFailed) as bad_field:
        services.assignment_create(
            by=stranger, project=a_in.project, worker=worker, start=D(2026, 3, 2), end=D(2026, 3, 3), hours_per_day=1
        )
    assert "project" in bad_field.value.details
    with pytest.raises(Forbidden):
        services.worker_type_create(by=viewer, name="Fitter")
    with pytest.raises(Forbidden):
        services.portfolio_create(by=viewer, name="Mine")
    with pytest.raises(Forbidden):
        services.grant_create(by=viewer, user=stranger, role="viewer", program=world["program"])
    assert ScopeAssignment.objects.filter(user=stranger).count() == 0
    a_in.refresh_from_db()
    assert a_in.version == 1 and a_in.note == ""
