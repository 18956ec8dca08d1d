"""Every 409 version_conflict, whatever the entity, is logged once (ids and versions, no field
values) and counted in contorl_version_conflicts{entity} (contorl/versioning.py)."""

import logging

import pytest

from contorl import metrics
from tasks import services as task_services
from tests.tasks.factories import TaskFactory

pytestmark = pytest.mark.django_db


def _count(entity: str) -> float:
    return metrics.REGISTRY.get_sample_value("contorl_version_conflicts_total", {"entity": entity}) or 0.0


@pytest.mark.parametrize("entity", ["tasks.Task", "planning.ResourceAssignment", "planning.Rate"])
def test_conflict_is_logged_and_counted(entity, api_for, owner, project, admin_user, worker, welder_rates, caplog):
    from decimal import Decimal

    from planning import services

    if entity == "tasks.Task":
        obj = TaskFactory(project=project, title="Secret title 1")
        task_services.task_update(task=obj, version=1, by=owner, title="Secret title 2")
        url, body, api = f"/api/tasks/{obj.pk}/", {"title": "Secret title 3", "version": 1}, api_for(owner)
    elif entity == "planning.Rate":
        obj = welder_rates[0]
        services.rate_update(rate=obj, version=1, by=admin_user, cost_per_hour=Decimal("41.17"))
        url, body, api = f"/api/planning/rates/{obj.pk}/", {"cost_per_hour": "99.99", "version": 1}, api_for(admin_user)
    else:
        import datetime

        day = datetime.date(2026, 2, 2)
        obj = services.assignment_create(
            by=owner, project=project, worker=worker, start=day, end=day, hours_per_day=Decimal(4), note="Secret note"
        )
        services.assignment_update(assignment=obj, version=1, by=owner, note="Secret note 2")
        url, body, api = f"/api/planning/assignments/{obj.pk}/", {"note": "Secret note 3", "version": 1}, api_for(owner)
    before = _count(entity)
    with caplog.at_level(logging.INFO, logger="contorl.conflicts"):
        r = api.patch(url, body, format="json")
    assert r.status_code == 409
    (record,) = [rec for rec in caplog.records if rec.name == "contorl.conflicts"]
    assert (record.entity, record.entity_id, record.expected_version, record.actual_version) == (entity, obj.pk, 1, 2)
    assert record.user_id == (admin_user.pk if entity == "planning.Rate" else owner.pk)
    fields = " ".join(str(v) for v in record.__dict__.values())
    assert "Secret" not in fields and "99.99" not in fields and "41.17" not in fields
    assert _count(entity) == before + 1


def test_metric_is_exposed_on_the_metrics_endpoint(settings, client, api_for, owner, project):
    settings.METRICS_TOKEN = "t0ken"
    task = TaskFactory(project=project)
    task_services.task_update(task=task, version=1, by=owner, title="x")
    assert api_for(owner).patch(f"/api/tasks/{task.pk}/", {"title": "y", "version": 1}).status_code == 409
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken").content.decode()
    assert 'contorl_version_conflicts_total{entity="tasks.Task"}' in text
