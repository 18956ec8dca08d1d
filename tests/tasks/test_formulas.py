"""Custom fields and formulas: safe evaluation, cycles, recomputation, API."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks import formulas
from tasks.models import Task

pytestmark = pytest.mark.django_db


# --- pure evaluator ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "values", "expected"),
    [
        ("{estimated_hours} * {rate}", {"estimated_hours": 2, "rate": 3.5}, (7.0, None)),
        ("if({estimated_hours} > 8, 1, 0)", {"estimated_hours": 9}, (1.0, None)),
        ("max({a}, 2) + min({a}, 2) + abs(-{a}) + round({a} / 3, 2)", {"a": 3}, (9.0, None)),
        ("{a} / {b}", {"a": 1, "b": 0}, (None, "division_by_zero")),
        ("{a} * 2", {}, (None, None)),
        ("10 ** 10 ** 10", {}, (None, "overflow")),
    ],
)
def test_evaluate(formula, values, expected):
    assert formulas.evaluate(formula, values) == expected


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('id')",
        "().__class__",
        "'a' * 10",
        "[1, 2]",
        "{a}.real",
        "open('x')",
        "lambda: 1",
        "x + 1",
        "{a} if",
        "{A}",
    ],
)
def test_forbidden_constructs_rejected(formula):
    with pytest.raises(formulas.FormulaError):
        formulas.validate(formula, ["a"])
    assert formulas.evaluate(formula, {"a": 1})[0] is None


formula_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.sampled_from(
            [
                "{a}",
                "{b}",
                "{estimated_hours}",
                "1",
                "0",
                "2.5",
                "+",
                "-",
                "*",
                "/",
                "//",
                "%",
                "**",
                "(",
                ")",
                ",",
                ">",
                "<",
                "==",
                "and",
                "or",
                "not",
                "if(",
                "min(",
                "max(",
                "round(",
                "abs(",
                "1e308",
                " ",
            ]
        ),
        max_size=25,
    ).map(" ".join),
)
numbers = st.one_of(
    st.none(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)
)


@settings(max_examples=300, deadline=None)
@given(formula=formula_text, a=numbers, b=numbers, h=numbers)
def test_evaluation_never_raises(formula, a, b, h):
    value, marker = formulas.evaluate(formula, {"a": a, "b": b, "estimated_hours": h})
    assert value is None or isinstance(value, float)
    assert marker is None or isinstance(marker, str)


def test_find_cycle_path():
    assert formulas.find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert formulas.find_cycle({"a": ["b"], "b": [], "c": ["a"]}) is None
    assert formulas.find_cycle({"a": ["a"]}) == ["a", "a"]


# --- through the API ---------------------------------------------------------------------


@pytest.fixture
def owner_api(api_for, owner):
    return api_for(owner)


def add_field(client, project, **body):
    return client.post(f"/api/projects/{project.pk}/custom-fields/", body, format="json")


def test_formula_values_stored_and_recomputed(owner_api, api, project, task):
    assert add_field(owner_api, project, key="rate", name="Rate", type="number").status_code == 201
    r = add_field(owner_api, project, key="cost", name="Cost", type="formula", formula="{estimated_hours} * {rate}")
    assert r.status_code == 201, r.content
    r = api.patch(
        f"/api/tasks/{task.pk}/", {"version": 1, "estimated_hours": 4, "custom_fields": {"rate": 25}}, format="json"
    )
    assert r.status_code == 200, r.content
    assert r.json()["custom_fields"] == {"rate": 25, "cost": 100.0}
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": 2, "estimated_hours": 2}, format="json")
    assert r.json()["custom_fields"]["cost"] == 50.0
    # stored, so lists can filter/sort on it
    assert Task.objects.get(pk=task.pk).custom_fields["cost"] == 50.0
    # changing the formula recomputes every task
    field_id = owner_api.get(f"/api/projects/{project.pk}/custom-fields/").json()[1]["id"]
    r = owner_api.patch(
        f"/api/custom-fields/{field_id}/", {"version": 1, "formula": "{estimated_hours} * {rate} * 2"}, format="json"
    )
    assert r.status_code == 200, r.content
    assert Task.objects.get(pk=task.pk).custom_fields["cost"] == 100.0
    # a write of no formula input keeps the stored values (the definitions are not read)
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": 3, "title": "Renamed", "status": task.status_id}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["custom_fields"] == {"rate": 25, "cost": 100.0}
    # the priority is one: a formula reading it follows it
    r = add_field(owner_api, project, key="urgent", name="Urgent", type="formula", formula="{priority} * 10")
    assert r.status_code == 201, r.content
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": 4, "priority": 3}, format="json")
    assert r.json()["custom_fields"]["urgent"] == 30


def test_formula_error_gives_null_and_marker(owner_api, api, project, task):
    add_field(owner_api, project, key="divisor", name="Divisor", type="number")
    add_field(owner_api, project, key="ratio", name="Ratio", type="formula", formula="{estimated_hours} / {divisor}")
    r = api.patch(
        f"/api/tasks/{task.pk}/", {"version": 1, "estimated_hours": 3, "custom_fields": {"divisor": 0}}, format="json"
    )
    assert r.status_code == 200
    assert r.json()["custom_fields"]["ratio"] is None
    assert r.json()["custom_field_errors"] == {"ratio": "division_by_zero"}


def test_formula_cycle_rejected_with_path(owner_api, project):
    assert add_field(owner_api, project, key="x", name="X", type="formula", formula="{priority} + 1").status_code == 201
    assert add_field(owner_api, project, key="y", name="Y", type="formula", formula="{x} * 2").status_code == 201
    x_id = owner_api.get(f"/api/projects/{project.pk}/custom-fields/").json()[0]["id"]
    r = owner_api.patch(f"/api/custom-fields/{x_id}/", {"version": 1, "formula": "{y} + 1"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "formula_cycle"
    assert r.json()["error"]["details"]["cycle"] == ["x", "y", "x"]
    r = add_field(owner_api, project, key="z", name="Z", type="formula", formula="{z} + 1")
    assert r.json()["error"]["code"] == "formula_cycle"


def test_formula_reference_and_syntax_checks(owner_api, project):
    add_field(owner_api, project, key="label", name="Label", type="text")
    for formula in ("{label} * 2", "{nope} + 1", "__import__('os')", "1 +"):
        r = add_field(owner_api, project, key="bad", name="Bad", type="formula", formula=formula)
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_error", formula


def test_custom_value_types_checked(owner_api, api, project, task, user, outsider):
    add_field(owner_api, project, key="n", name="N", type="number")
    add_field(owner_api, project, key="d", name="D", type="date")
    add_field(owner_api, project, key="s", name="S", type="select", options=["red", "green"])
    add_field(owner_api, project, key="u", name="U", type="user")
    add_field(owner_api, project, key="t", name="T", type="text")
    bad = [{"n": "1"}, {"n": True}, {"d": "2026-13-01"}, {"s": "blue"}, {"u": outsider.pk}, {"t": "x" * 1001}]
    for values in bad:
        r = api.patch(f"/api/tasks/{task.pk}/", {"version": 1, "custom_fields": values}, format="json")
        assert r.status_code == 400, values
    good = {"n": 1.5, "d": "2026-05-01", "s": "green", "u": user.pk, "t": "ok"}
    r = api.patch(f"/api/tasks/{task.pk}/", {"version": 1, "custom_fields": good}, format="json")
    assert r.status_code == 200 and r.json()["custom_fields"] == good


def test_only_owner_manages_fields(api, project):
    r = add_field(api, project, key="n", name="N", type="number")
    assert r.status_code == 403


def test_list_filters_and_sorts_by_stored_custom_values(owner_api, api, project, make_task):
    add_field(owner_api, project, key="rate", name="Rate", type="number")
    add_field(owner_api, project, key="cost", name="Cost", type="formula", formula="{estimated_hours} * {rate}")
    tasks = []
    for hours, rate in ((1, 10), (5, 10), (2, 30)):
        t = make_task()
        api.patch(
            f"/api/tasks/{t.pk}/",
            {"version": 1, "estimated_hours": hours, "custom_fields": {"rate": rate}},
            format="json",
        )
        tasks.append(t)
    r = api.get(f"/api/tasks/?project={project.pk}&ordering=-cf_cost")
    assert [t["custom_fields"]["cost"] for t in r.json()["results"]] == [60.0, 50.0, 10.0]
    r = api.get(f"/api/tasks/?project={project.pk}&cf_rate=10&ordering=cf_cost")
    assert [t["id"] for t in r.json()["results"]] == [tasks[0].pk, tasks[1].pk]
    assert api.get("/api/tasks/?ordering=password").status_code == 400
    assert api.get("/api/tasks/?ordering=-priority").status_code == 200
