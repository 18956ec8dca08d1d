"""The lists build payloads from database rows (payloads.Columns); they must equal payload() of
the model instance, field for field, for every planning model they serve."""

import datetime
from decimal import Decimal

import pytest

from planning import services
from planning.models import ResourceAssignment
from planning.payloads import ENTITY_NAMES, columns, payload

pytestmark = pytest.mark.django_db
D = datetime.date


def test_row_payloads_equal_instance_payloads(admin_user, admin_api, project, worker, welder_rates, linked):
    phase = services.phase_create(
        by=admin_user, project=project, name="Install", start=D(2026, 3, 9), end=D(2026, 3, 20)
    )
    services.exception_create(
        by=admin_user, worker=worker, start=D(2026, 3, 10), end=D(2026, 3, 10), hours_off=Decimal(4)
    )
    gone = services.assignment_create(
        by=admin_user, project=project, worker=worker, start=D(2026, 3, 2), end=D(2026, 3, 3), hours_per_day=Decimal(2)
    )
    services.assignment_delete(assignment=gone, by=admin_user)  # deleted_at and deleted_by set
    services.assignment_create(
        by=admin_user,
        project=project,
        worker=worker,
        phase=phase,
        start=D(2026, 3, 12),
        end=D(2026, 3, 17),
        hours_per_day=Decimal("7.5"),
        note="night shift",
    )
    services.actual_create(by=admin_user, project=project, worker=worker, date=D(2026, 3, 12), hours=Decimal("7.25"))
    served = 0
    for model in ENTITY_NAMES:
        fast = columns(model)
        if fast is None:
            continue
        rows = model.all_objects.order_by("pk") if hasattr(model, "all_objects") else model.objects.order_by("pk")
        expected = [payload(obj) for obj in rows]
        assert expected, f"the test makes at least one {model.__name__}"
        assert [fast.payload(row) for row in rows.values_list(*fast.attnames)] == expected, model.__name__
        served += 1
    assert served >= 7
    listed = admin_api.get("/api/planning/assignments/", {"project": project.pk}).json()["results"]
    (live,) = ResourceAssignment.objects.filter(project=project)
    assert listed == [payload(live)], "the list serves the live row, as retrieve does"
    assert admin_api.get(f"/api/planning/assignments/{live.pk}/").json() == listed[0]
