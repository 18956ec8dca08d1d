"""Random PATCH/POST bodies never produce a 5xx: every refusal is a 4xx in the envelope."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["2026-01-01", "1999-12-31", "2101-01-01", "0", "-1", "1e309"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
fields = st.sampled_from(
    [
        "title",
        "description",
        "status",
        "assignee",
        "priority",
        "start_date",
        "due_date",
        "estimated_hours",
        "parent",
        "position",
        "custom_fields",
        "version",
        "project",
    ]
)
bodies = st.dictionaries(fields, json_values, max_size=5)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_random_task_bodies_never_500(api, task, settings, body):
    settings.RATELIMIT_ENABLE = False
    r = api.patch(f"/api/tasks/{task.pk}/", body, format="json")
    assert r.status_code < 500, (body, r.content)
    if r.status_code >= 400:
        assert set(r.json()) == {"error"}
    r = api.post("/api/tasks/", {"project": task.project_id, "title": "fuzz", **body}, format="json")
    assert r.status_code < 500, (body, r.content)
    r = api.post("/api/tasks/bulk-update/", [{"id": task.pk, **body}], format="json")
    assert r.status_code < 500, (body, r.content)


@pytest.mark.parametrize("value", [2**63, 2**70, -1, 0, "1" * 30, 1.5, True])
def test_out_of_range_ids_are_400(api, task, value):
    for field in ("status", "parent", "assignee"):
        r = api.patch(f"/api/tasks/{task.pk}/", {field: value, "version": 1}, format="json")
        assert r.status_code == 400, (field, value, r.content)
    r = api.post(f"/api/tasks/{task.pk}/dependencies/", {"depends_on": value}, format="json")
    assert r.status_code == 400
    r = api.post("/api/tasks/", {"project": value, "title": "x"}, format="json")
    assert r.status_code == 400
    r = api.get(f"/api/tasks/?project={value}")
    assert r.status_code in (400, 404)


status_items = st.fixed_dictionaries(
    {"name": json_values}, optional={"color": json_values, "order": json_values, "is_done": json_values}
)
field_items = st.fixed_dictionaries(
    {
        "key": st.one_of(st.sampled_from(["rate", "cost", "a", "priority"]), json_values),
        "name": json_values,
        "type": st.one_of(st.sampled_from(["text", "number", "formula", "select", "user", "date"]), json_values),
    },
    optional={
        "options": json_values,
        "formula": st.one_of(st.sampled_from(["{rate} * 2", "{cost}", "1/0"]), json_values),
    },
)
template_data = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={"statuses": st.lists(status_items, max_size=3), "custom_fields": st.lists(field_items, max_size=3)},
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=template_data, field=field_items)
def test_random_templates_and_fields_never_500(api_for, owner, project, settings, data, field):
    settings.RATELIMIT_ENABLE = False
    client = api_for(owner)
    r = client.post("/api/project-templates/", {"name": "fuzz template", "data": data}, format="json")
    assert r.status_code < 500, (data, r.content)
    if r.status_code == 201:
        created = client.post(
            "/api/projects/", {"name": "From fuzz", "key": "FUZZ", "template": r.json()["id"]}, format="json"
        )
        assert created.status_code < 500, (data, created.content)
        from tasks.models import Project, ProjectTemplate

        Project.objects.filter(key="FUZZ").delete()
        ProjectTemplate.objects.all().delete()
    r = client.post(f"/api/projects/{project.pk}/custom-fields/", field, format="json")
    assert r.status_code < 500, (field, r.content)
