"""seed_demo's planning part, and the admin: versioned edits through the services."""

import datetime
import io
import re
from decimal import Decimal

import pytest

from audit.models import AuditLog
from planning import seed, services
from planning.models import Actual, Portfolio, Program, ProjectLink, ResourceAssignment, ScopeAssignment, Worker
from tasks import seed as task_seed

pytestmark = pytest.mark.django_db


def test_seed_is_complete_fast_and_idempotent(make_user, other_department, django_assert_max_num_queries):
    users = {
        "alice": make_user("alice", is_department_manager=True),
        "bob": make_user("bob"),
        "carol": make_user("carol", department=other_department),
        "dave": make_user("dave", department=other_department),
        "admin": make_user("admin", is_system_admin=True),
    }
    task_seed.seed(users=users, stdout=io.StringIO())
    with django_assert_max_num_queries(3000):
        seed.seed(users=users, stdout=io.StringIO())
    seed.seed(users=users, stdout=io.StringIO())
    assert Portfolio.objects.count() == 1 and Program.objects.count() == 2 and ProjectLink.objects.count() == 2
    assert {w.worker_type.name for w in Worker.objects.select_related("worker_type")} == {
        "Welder",
        "PLC engineer",
        "Electrician",
    }
    assert ResourceAssignment.objects.count() == 6
    assert Actual.objects.count() >= 10 and not Actual.objects.filter(cost__isnull=True).exists()
    welder_costs = set(
        Actual.objects.filter(worker__worker_type__name="Welder").values_list("rate__cost_per_hour", flat=True)
    )
    assert welder_costs <= {Decimal("38.50"), Decimal("42.00")}
    assert ScopeAssignment.objects.filter(user=users["alice"], role="manager").exists()


@pytest.fixture
def admin_client(client, make_user):
    root = make_user("superroot", is_superuser=True, is_staff=True, is_system_admin=True)
    client.force_login(root)
    return client


def test_admin_edit_uses_the_version_the_form_was_opened_at(admin_client, admin_user, project, worker):
    day = datetime.date(2026, 2, 2)
    a = services.assignment_create(
        by=admin_user, project=project, worker=worker, start=day, end=day, hours_per_day=Decimal(4)
    )
    url = f"/admin/planning/resourceassignment/{a.pk}/change/"
    form = admin_client.get(url).content.decode()
    assert re.search(r'name="expected_version" value="1"', form)
    services.assignment_update(assignment=a, version=1, by=admin_user, note="meanwhile")
    data = {
        "worker": worker.pk,
        "phase": "",
        "task": "",
        "start": "2026-02-02",
        "end": "2026-02-03",
        "hours_per_day": "5",
        "note": "meanwhile",
        "expected_version": "1",
    }
    stale = admin_client.post(url, data)
    assert stale.status_code == 200 and "Someone else changed this" in stale.content.decode()
    a.refresh_from_db()
    assert (a.version, a.hours_per_day) == (2, Decimal(4))
    data["expected_version"] = "2"
    ok = admin_client.post(url, data)
    assert ok.status_code == 302
    a.refresh_from_db()
    assert (a.version, a.hours_per_day, a.end) == (3, Decimal(5), datetime.date(2026, 2, 3))
    assert AuditLog.objects.filter(event_type="planning.assignment.update", object_id=str(a.pk)).count() == 2


def test_admin_delete_is_a_soft_delete_and_every_changelist_opens(admin_client, admin_user, worker):
    r = admin_client.post(f"/admin/planning/worker/{worker.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert Worker.all_objects.get(pk=worker.pk).is_deleted
    for model in (
        "portfolio",
        "program",
        "projectlink",
        "projectphase",
        "workertype",
        "rate",
        "worker",
        "workerexception",
        "resourceassignment",
        "actual",
        "scopeassignment",
    ):
        assert admin_client.get(f"/admin/planning/{model}/").status_code == 200, model
        assert admin_client.get(f"/admin/planning/{model}/add/").status_code == 200, model
