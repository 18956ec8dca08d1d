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


def test_a_yes_no_filter_refuses_what_it_cannot_read(admin_api, worker, external_worker):
    """django-filter's own BooleanFilter served the whole list for ?external=maybe."""

    def ids(**query):
        response = admin_api.get("/api/planning/workers/", query)
        assert response.status_code == 200, response.content
        return {w["id"] for w in response.json()["results"]}

    assert ids(external="true") == ids(external="1") == ids(external="True") == {external_worker.pk}
    assert ids(external="false") == ids(external="0") == {worker.pk}
    assert ids(external="") == ids() == {worker.pk, external_worker.pk}  # empty: no filter
    for value in ("maybe", "-58800", "yes", "null"):
        bad = admin_api.get("/api/planning/workers/", {"external": value})
        assert bad.status_code == 400 and "external" in bad.json()["error"]["details"], value


def test_model_yes_no_fields_of_filterset_fields_are_strict_too(admin_api, user):
    assert admin_api.get("/api/users/", {"is_department_manager": "false"}).status_code == 200
    bad = admin_api.get("/api/users/", {"is_department_manager": "perhaps"})
    assert bad.status_code == 400 and "is_department_manager" in bad.json()["error"]["details"]


def test_an_empty_filter_value_is_no_filter_and_the_schema_says_so(admin_api, worker, external_worker):
    everyone = admin_api.get("/api/planning/assignments/").json()["count"]
    assert admin_api.get("/api/planning/assignments/", {"to_date": "", "worker": ""}).json()["count"] == everyone
    schema = admin_api.get("/api/schema/?format=json").json()
    params = {p["name"]: p for p in schema["paths"]["/api/planning/assignments/"]["get"]["parameters"]}
    assert params["to_date"]["schema"]["format"] == "date" and params["to_date"]["allowEmptyValue"] is True
    assert params["worker"]["allowEmptyValue"] is True
    assert "allowEmptyValue" not in params["page_size"]  # not a filter: an empty page_size is a 400


@pytest.mark.parametrize("value", ["-9.8e185", "99999999999999999999", "1.5", "0", "x"])
@pytest.mark.parametrize("name", ["portfolio", "program", "worker_type"])
def test_an_id_filter_through_a_join_takes_a_whole_number_in_range(admin_api, name, value):
    """?portfolio=-9.8e185 reached SQLite as a decimal and failed there (500)."""
    response = admin_api.get("/api/planning/assignments/", {name: value})
    assert response.status_code == 400, response.content
    assert name in response.json()["error"]["details"]


def test_an_id_filter_still_filters(admin_api, admin_user, project, worker, linked, program):
    services.assignment_create(
        by=admin_user, project=project, worker=worker, start=D(2026, 3, 2), end=D(2026, 3, 6), hours_per_day=Decimal(2)
    )
    ids = admin_api.get("/api/planning/assignments/", {"portfolio": program.portfolio_id}).json()["results"]
    assert len(ids) == 1
    assert admin_api.get("/api/planning/assignments/", {"portfolio": 2**62}).json()["results"] == []
