"""Rates: validity days inclusive, no overlap (service everywhere, exclusion constraint on
PostgreSQL); actual costs priced by the day's rate and recomputed when rates change."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from contorl.errors import ValidationFailed
from planning import services
from planning.models import Actual, Rate

pytestmark = pytest.mark.django_db
D = datetime.date


def test_valid_to_day_is_inclusive_and_next_day_takes_the_new_rate(welder, welder_rates):
    old, new = welder_rates
    assert services.rate_on(welder.pk, D(2026, 3, 15)) == old
    assert services.rate_on(welder.pk, D(2026, 3, 16)) == new
    assert services.rate_on(welder.pk, D(2026, 1, 1)) == old
    assert services.rate_on(welder.pk, D(2025, 12, 31)) is None
    assert services.rate_on(welder.pk, D(2099, 1, 1)) == new  # open-ended


@pytest.mark.parametrize(
    ("valid_from", "valid_to"),
    [
        (D(2026, 3, 15), D(2026, 3, 15)),  # the old rate's last day
        (D(2025, 12, 1), D(2026, 1, 1)),  # touches its first day
        (D(2027, 1, 1), None),  # inside the open-ended one
        (D(2025, 1, 1), None),  # covers everything
    ],
)
def test_overlapping_rates_are_refused(admin_user, welder, welder_rates, valid_from, valid_to):
    with pytest.raises(ValidationFailed) as info:
        services.rate_create(
            by=admin_user, worker_type=welder, cost_per_hour=Decimal(1), valid_from=valid_from, valid_to=valid_to
        )
    assert "valid_from" in info.value.details
    assert Rate.objects.filter(worker_type=welder).count() == 2


def test_adjacent_rate_is_accepted_and_api_overlap_is_400(admin_user, admin_api, welder):
    services.rate_create(
        by=admin_user, worker_type=welder, cost_per_hour=Decimal(30), valid_from=D(2026, 1, 1), valid_to=D(2026, 1, 31)
    )
    ok = admin_api.post(
        "/api/planning/rates/", {"worker_type": welder.pk, "cost_per_hour": "31.00", "valid_from": "2026-02-01"}
    )
    assert ok.status_code == 201, ok.content
    bad = admin_api.post(
        "/api/planning/rates/",
        {"worker_type": welder.pk, "cost_per_hour": "9.00", "valid_from": "2026-01-31", "valid_to": "2026-01-31"},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    reversed_dates = admin_api.post(
        "/api/planning/rates/",
        {"worker_type": welder.pk, "cost_per_hour": "9.00", "valid_from": "2025-05-02", "valid_to": "2025-05-01"},
    )
    assert reversed_dates.status_code == 400 and "valid_to" in reversed_dates.json()["error"]["details"]
    assert Rate.objects.filter(worker_type=welder).count() == 2


@pytest.mark.postgres
def test_postgres_exclusion_constraint_refuses_overlap_past_the_service(postgres, welder, welder_rates):
    with pytest.raises(IntegrityError), transaction.atomic():
        Rate.objects.create(worker_type=welder, cost_per_hour=Decimal(1), valid_from=D(2026, 3, 10), valid_to=None)
    # A deleted rate no longer blocks its days.
    old, _new = welder_rates
    Rate.objects.filter(pk=old.pk).update(is_deleted=True)
    Rate.objects.create(worker_type=welder, cost_per_hour=Decimal(1), valid_from=D(2026, 2, 1), valid_to=D(2026, 2, 28))


def test_actual_cost_across_a_rate_change(admin_user, project, worker, welder_rates):
    last_old = services.actual_create(
        by=admin_user, project=project, worker=worker, date=D(2026, 3, 15), hours=Decimal("7.5")
    )
    first_new = services.actual_create(
        by=admin_user, project=project, worker=worker, date=D(2026, 3, 16), hours=Decimal("7.5")
    )
    assert (last_old.cost, last_old.rate_id) == (Decimal("300.00"), welder_rates[0].pk)
    assert (first_new.cost, first_new.rate_id) == (Decimal("375.00"), welder_rates[1].pk)


def test_rate_edits_recost_stored_actuals_and_bump_versions(
    django_capture_on_commit_callbacks, admin_user, project, worker, welder, welder_rates, listen
):
    drain = listen(project)
    old, new = welder_rates
    a = services.actual_create(by=admin_user, project=project, worker=worker, date=D(2026, 3, 10), hours=Decimal(2))
    b = services.actual_create(by=admin_user, project=project, worker=worker, date=D(2026, 3, 20), hours=Decimal(2))
    with django_capture_on_commit_callbacks(execute=True):
        services.rate_update(rate=old, version=old.version, by=admin_user, cost_per_hour=Decimal("41.25"))
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.cost, a.version) == (Decimal("82.50"), 2)
    assert (b.cost, b.version) == (Decimal("100.00"), 1)  # other rate: untouched
    # Shorten the new rate: the 20th has no rate any more -> cost null until one covers it.
    services.rate_update(rate=new, version=new.version, by=admin_user, valid_from=D(2026, 3, 25))
    b.refresh_from_db()
    assert (b.cost, b.rate_id, b.version) == (None, None, 2)
    services.rate_create(
        by=admin_user, worker_type=welder, cost_per_hour=Decimal(60), valid_from=D(2026, 3, 16), valid_to=D(2026, 3, 24)
    )
    b.refresh_from_db()
    assert (b.cost, b.version) == (Decimal("120.00"), 3)
    (frame,) = [f for f in drain() if f["type"] == "actuals_recosted"]
    assert frame["data"]["project"] == project.pk and frame["data"]["actuals"] == [a.pk]


def test_changing_hours_or_date_recosts_and_worker_type_change_recosts(admin_user, project, worker, welder_rates):
    actual = services.actual_create(
        by=admin_user, project=project, worker=worker, date=D(2026, 3, 15), hours=Decimal(1)
    )
    actual = services.actual_update(actual=actual, version=1, by=admin_user, date=D(2026, 3, 16), hours=Decimal(2))
    assert actual.cost == Decimal("100.00")
    plc = services.worker_type_create(by=admin_user, name="PLC")
    services.rate_create(by=admin_user, worker_type=plc, cost_per_hour=Decimal(70), valid_from=D(2026, 1, 1))
    services.worker_update(worker=worker, version=worker.version, by=admin_user, worker_type=plc)
    assert Actual.objects.get(pk=actual.pk).cost == Decimal("140.00")


def test_changing_a_rate_keeps_the_edge_days_apart(admin_user, welder, welder_rates):
    old, new = welder_rates
    with pytest.raises(ValidationFailed):  # the old rate's last day onto the new one's first
        services.rate_update(rate=old, version=old.version, by=admin_user, valid_to=D(2026, 3, 16))
    with pytest.raises(ValidationFailed):  # the new rate's first day onto the old one's last
        services.rate_update(rate=new, version=new.version, by=admin_user, valid_from=D(2026, 3, 15))
    with pytest.raises(ValidationFailed):  # open-ended again: overlaps everything after
        services.rate_update(rate=old, version=old.version, by=admin_user, valid_to=None)
    old = services.rate_update(rate=old, version=old.version, by=admin_user, valid_to=D(2026, 3, 14))
    new = services.rate_update(rate=new, version=new.version, by=admin_user, valid_from=D(2026, 3, 15))
    assert services.rate_on(welder.pk, D(2026, 3, 14)) == old
    assert services.rate_on(welder.pk, D(2026, 3, 15)) == new
    assert (old.version, new.version) == (2, 2)
