"""List filters (django-filter): overlap ranges, program/portfolio roll-ups, bad values are 400."""

import datetime
from decimal import Decimal

import pytest

from planning import services

pytestmark = pytest.mark.django_db
D = datetime.date


def test_assignment_filters(admin_api, admin_user, project, other_project, worker, external_worker, linked, program):
    def assign(p, w, start, end):
        return services.assignment_create(
            by=admin_user, project=p, worker=w, start=start, end=end, hours_per_day=Decimal(2)
        )

    feb = assign(project, worker, D(2026, 2, 2), D(2026, 2, 27))
    march = assign(project, external_worker, D(2026, 3, 2), D(2026, 3, 6))
    alone = assign(other_project, worker, D(2026, 2, 10), D(2026, 2, 11))

    def ids(**params):
        r = admin_api.get("/api/planning/assignments/", params)
        assert r.status_code == 200, r.content
        return {row["id"] for row in r.json()["results"]}

    assert ids(from_date="2026-02-27", to_date="2026-03-01") == {feb.pk}  # last day counts
    assert ids(from_date="2026-02-28", to_date="2026-03-01") == set()
    assert ids(program=program.pk) == {feb.pk, march.pk}
    assert ids(portfolio=program.portfolio_id) == {feb.pk, march.pk}
    assert ids(worker=worker.pk) == {feb.pk, alone.pk}
    assert ids(project=other_project.pk) == {alone.pk}
    bad = admin_api.get("/api/planning/assignments/", {"from_date": "yesterday"})
    assert bad.status_code == 400 and "from_date" in bad.json()["error"]["details"]
    workers = admin_api.get("/api/planning/workers/", {"external": "true"}).json()["results"]
    assert [w["id"] for w in workers] == [external_worker.pk] and workers[0]["is_external"] is True


def test_rates_valid_on_a_day(admin_api, welder, welder_rates):
    old, new = welder_rates
    on = admin_api.get("/api/planning/rates/", {"worker_type": welder.pk, "on": "2026-03-15"}).json()["results"]
    assert [r["id"] for r in on] == [old.pk] and on[0]["cost_per_hour"] == "40.00" and on[0]["valid_to"] == "2026-03-15"
    later = admin_api.get("/api/planning/rates/", {"on": "2026-03-16"}).json()["results"]
    assert [r["id"] for r in later] == [new.pk] and later[0]["valid_to"] is None
