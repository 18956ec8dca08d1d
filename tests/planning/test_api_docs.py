"""Every planning endpoint is in the OpenAPI schema and opens in DRF's browsable API."""

import pytest

pytestmark = pytest.mark.django_db

COLLECTIONS = [
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


def test_every_planning_endpoint_is_in_the_openapi_schema(admin_api):
    r = admin_api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for name in COLLECTIONS:
        assert set(paths[f"/api/planning/{name}/"]) >= {"get", "post"}, name
        assert set(paths[f"/api/planning/{name}/{{id}}/"]) >= {"get", "patch", "delete"}, name
        assert "put" not in paths[f"/api/planning/{name}/{{id}}/"], name
    assert "post" in paths["/api/planning/assignments/bulk/"]
    for report in ("capacity", "plan-vs-actual", "plan-vs-actual/export"):
        assert "get" in paths[f"/api/planning/{report}/"], report


def test_planning_endpoints_open_in_the_browsable_api(admin_api, project):
    for name in COLLECTIONS:
        r = admin_api.get(f"/api/planning/{name}/", HTTP_ACCEPT="text/html")
        assert r.status_code == 200, name
        assert r["Content-Type"].startswith("text/html"), name
        assert "rest_framework/" in r.content.decode(), name  # the browsable API's own assets
    capacity = admin_api.get("/api/planning/capacity/?start=2026-02-02&end=2026-02-08", HTTP_ACCEPT="text/html")
    assert capacity.status_code == 200 and capacity["Content-Type"].startswith("text/html")
    report = admin_api.get(f"/api/planning/plan-vs-actual/?project={project.pk}", HTTP_ACCEPT="text/html")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/html")
