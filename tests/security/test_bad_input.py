"""NUL characters and absurdly nested JSON are bad input (400 validation_error), never a 500.

PostgreSQL refuses NUL in text, and json.loads overflows the stack on deep nesting; both
used to surface as server errors on list filters, writes and the sign-in endpoint.
"""

import json

import pytest

from tests.rooms.factories import make_room
from tests.tasks.factories import TaskFactory, make_project

pytestmark = pytest.mark.django_db

NESTED = "[" * 10_000 + "]" * 10_000


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATELIMIT_ENABLE = False


@pytest.fixture
def world(user, admin_user):
    project = make_project(user)
    task = TaskFactory(project=project, status=project.statuses.first())
    room = make_room(user)
    return {"project": project, "task": task, "room": room}


def assert_bad_input(response):
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"]
    assert set(error) == {"code", "message", "details"}


LIST_QUERIES = [
    "/api/tasks/?search=%00",
    "/api/tasks/?ordering=%00",
    "/api/tasks/?cf_x=%00",
    "/api/tasks/?status=%00",
    "/api/projects/?search=%00",
    "/api/projects/?archived=%00",
    "/api/users/?q=%00",
    "/api/users/?role=%00",
    "/api/departments/?search=%00",
    "/api/notifications/?unread=%00",
    "/api/rooms/?status=%00",
    "/api/rooms/?search=%00",
    "/api/room-templates/?search=%00",
    "/api/statuses/?project=%00",
    "/api/comments/?search=%00",
    "/api/sessions/?x=%00",
    "/api/audit-logs/?event_type=%00",
    "/api/audit-logs/?actor=%00",
    "/api/audit-logs/?object_id=%00",
    "/api/tasks/?a%00b=1",  # in a parameter name, too
    "/api/tasks/?status=%00&status=1",  # and not only in the last of repeated values
]


@pytest.mark.parametrize("url", LIST_QUERIES)
def test_nul_in_a_query_parameter_is_a_400(admin_api, world, url):
    assert_bad_input(admin_api.get(url))


def test_nul_in_room_message_search_is_a_400(api, world):
    assert_bad_input(api.get(f"/api/rooms/{world['room'].pk}/messages/search/?q=a%00b"))


def _writes(w):
    p, t, r = w["project"], w["task"], w["room"]
    return [
        ("post", "/api/projects/", {"name": "Bad\u0000name", "key": "NUL", "department": p.department_id}),
        ("patch", f"/api/projects/{p.pk}/", {"name": "x\u0000", "version": p.version}),
        ("post", "/api/tasks/", {"project": p.pk, "title": "t\u0000"}),
        ("patch", f"/api/tasks/{t.pk}/", {"title": "t\u0000", "version": t.version}),
        ("patch", f"/api/tasks/{t.pk}/", {"title": "ok", "custom_fields": {"k\u0000": 1}, "version": t.version}),
        ("post", f"/api/tasks/{t.pk}/comments/", {"body": "hi\u0000"}),
        ("post", "/api/room-templates/", {"name": "T\u0000", "title_pattern": "x"}),
        ("post", "/api/rooms/", {"title": "Leak\u0000", "severity": "high"}),
        ("patch", f"/api/rooms/{r.pk}/", {"title": "Leak\u0000", "version": r.version}),
        ("post", f"/api/rooms/{r.pk}/messages/", {"content": "hello\u0000"}),
        ("post", "/api/departments/", {"name": "D\u0000", "code": "DNUL"}),
        ("patch", "/api/users/me/", {"email_notifications": True, "version": 1, "note": ["\u0000"]}),
        ("post", "/api/auth/token/", {"username": "bob\u0000", "password": "x"}),
        ("post", "/api/auth/token/refresh/", {"refresh": "a\u0000b"}),
    ]


@pytest.mark.parametrize("index", range(14))
def test_nul_in_a_json_body_is_a_400_and_changes_nothing(admin_api, world, index):
    from tasks.models import Project

    method, url, body = _writes(world)[index]
    before = Project.objects.filter(name__startswith="Bad").count()
    response = getattr(admin_api, method)(url, json.dumps(body), content_type="application/json")
    assert_bad_input(response)
    assert Project.objects.filter(name__startswith="Bad").count() == before


@pytest.mark.parametrize(
    ("url", "auth"),
    [
        ("/api/auth/token/", False),
        ("/api/auth/token/refresh/", False),
        ("/api/projects/", True),
        ("/api/rooms/", True),
        ("/api/tasks/bulk-update/", True),
    ],
)
def test_deeply_nested_json_is_a_400(api, anon_api, url, auth):
    client = api if auth else anon_api
    response = client.post(url, NESTED, content_type="application/json")
    assert_bad_input(response)


def test_nesting_inside_an_object_is_limited_too(anon_api):
    body = '{"username": ' + '{"a": ' * 200 + "1" + "}" * 200 + ', "password": "x"}'
    assert_bad_input(anon_api.post("/api/auth/token/", body, content_type="application/json"))


def test_ordinary_nesting_still_parses(anon_api, user, password):
    response = anon_api.post(
        "/api/auth/token/", {"username": user.username, "password": password, "x": [[[{"a": [1]}]]]}, format="json"
    )
    assert response.status_code == 200


def test_nul_in_a_form_body_is_a_400(api, world):
    response = api.patch(
        f"/api/projects/{world['project'].pk}/",
        f"name=x%00&version={world['project'].version}",
        content_type="application/x-www-form-urlencoded",
    )
    assert_bad_input(response)
    response = api.post("/api/rooms/", {"title": "Leak\u0000", "severity": "high"}, format="multipart")
    assert_bad_input(response)


def test_nul_in_a_posted_form_is_a_400(anon_api):
    response = anon_api.post(
        "/api/auth/token/", "username=bob%00&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert_bad_input(response)


def test_pages_answer_a_nul_query_with_a_400_page(client, admin_user):
    client.force_login(admin_user)
    for url in ("/accounts/login/?next=%00", "/admin/rooms/room/?q=%00", "/tasks/?q=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "text/html" in response["Content-Type"]


@pytest.mark.parametrize("value", ["null", "", "0", "000", "-1", "1.5", "abc", "true", "%205"])
@pytest.mark.parametrize("url", ["/api/tasks/", "/api/rooms/", "/api/planning/workers/", "/api/audit-logs/"])
def test_an_unreadable_page_size_is_a_400_not_the_default_page(admin_api, world, url, value):
    response = admin_api.get(f"{url}?page_size={value}")
    assert_bad_input(response)
    assert "page_size" in response.json()["error"]["details"]


def test_a_page_size_is_served_up_to_the_maximum(admin_api, world):
    TaskFactory(project=world["project"], status=world["project"].statuses.first())
    assert len(admin_api.get("/api/tasks/?page_size=1").json()["results"]) == 1
    assert admin_api.get("/api/tasks/?page_size=99999999999999999999").status_code == 200
    schema = admin_api.get("/api/schema/?format=json").json()
    (page_size,) = [p for p in schema["paths"]["/api/tasks/"]["get"]["parameters"] if p["name"] == "page_size"]
    assert page_size["schema"] == {"type": "integer", "minimum": 1}


def test_a_yes_no_field_left_out_of_a_form_body_is_not_given_not_false(admin_api, make_user):
    """DRF reads form bodies like HTML forms, where a missing checkbox means False: a multipart
    PATCH carrying only `version` revoked system admin and cleared the department manager."""
    boss = make_user("boss2", is_system_admin=True, is_department_manager=True)
    refused = admin_api.patch(f"/api/users/{boss.pk}/admin/", {"version": boss.version}, format="multipart")
    assert_bad_input(refused)
    assert "is_system_admin" in refused.json()["error"]["details"]
    moved = admin_api.patch(f"/api/users/{boss.pk}/", {"version": boss.version, "role": "manager"}, format="multipart")
    assert moved.status_code == 200, moved.content
    boss.refresh_from_db()
    assert boss.is_system_admin and boss.is_department_manager and boss.role == "manager"
    mine = admin_api.get("/api/users/me/").json()
    form = "application/x-www-form-urlencoded"
    me = admin_api.patch("/api/users/me/", f"version={mine['version']}", content_type=form)
    assert_bad_input(me)  # the schema says email_notifications is required
    assert (
        admin_api.patch(
            "/api/users/me/", {"version": mine["version"], "email_notifications": "true"}, format="multipart"
        ).json()["email_notifications"]
        is True
    )


def test_a_number_where_the_schema_says_text_is_a_400(admin_api, world):
    """DRF turned JSON numbers into text ("title": 5.5 was stored as "5.5")."""
    task = world["task"]
    cases = [
        ("patch", f"/api/tasks/{task.pk}/", {"title": 5.5, "version": task.version}, "title"),
        ("post", "/api/departments/", {"name": 1, "code": "NUM"}, "name"),
        ("post", "/api/planning/portfolios/", {"name": "P", "description": 0}, "description"),
        ("post", f"/api/tasks/{task.pk}/comments/", {"body": 7}, "body"),
    ]
    for method, url, body, field in cases:
        response = getattr(admin_api, method)(url, body, format="json")
        assert_bad_input(response)
        assert field in response.json()["error"]["details"], (url, response.json())
    task.refresh_from_db()
    assert task.title != "5.5"
    # Text is still text, in JSON and in forms.
    assert admin_api.post("/api/departments/", {"name": "7", "code": "SEVEN"}, format="json").status_code == 201
    assert admin_api.post("/api/departments/", {"name": "8", "code": "EIGHT"}, format="multipart").status_code == 201


def test_a_yes_no_field_takes_true_or_false_only(admin_api, user):
    """DRF also took 1, 0, "yes", "on" ... for a boolean the schema documents as true/false."""
    version = admin_api.get("/api/users/me/").json()["version"]
    for value in (1, 0, "yes", "on", "0"):
        refused = admin_api.patch("/api/users/me/", {"version": version, "email_notifications": value}, format="json")
        assert_bad_input(refused)
        assert "email_notifications" in refused.json()["error"]["details"], value
    form = admin_api.patch("/api/users/me/", {"version": version, "email_notifications": "1"}, format="multipart")
    assert_bad_input(form)
    ok = admin_api.patch("/api/users/me/", {"version": version, "email_notifications": "true"}, format="multipart")
    assert ok.status_code == 200 and ok.json()["email_notifications"] is True
    ok = admin_api.patch("/api/users/me/", {"version": version + 1, "email_notifications": False}, format="json")
    assert ok.status_code == 200 and ok.json()["email_notifications"] is False


def test_an_empty_form_value_of_a_text_field_that_may_not_be_blank_is_refused(api, user, world):
    """It counted as not given: a room opened from a template by a form with title= took the
    template's title, and an attachment uploaded with name= kept the file's name."""
    from rooms import services as room_services
    from tests.security.conftest import upload

    template = room_services.template_create(by=user, name="Stop", title_pattern="{location} stop")
    response = api.post("/api/rooms/", {"title": "", "template": template.pk, "location": "L1"}, format="multipart")
    assert_bad_input(response)
    assert "title" in response.json()["error"]["details"]
    task = world["task"]
    response = api.post(f"/api/tasks/{task.pk}/attachments/", {"file": upload(), "name": ""}, format="multipart")
    assert_bad_input(response)
    assert "name" in response.json()["error"]["details"]
    # A field that may be blank still takes "" from a form, and a field left out is not given.
    ok = api.post("/api/rooms/", {"template": template.pk, "location": "L2", "description": ""}, format="multipart")
    assert ok.status_code == 201 and ok.json()["title"] == "L2 stop", ok.content


def test_an_empty_form_value_of_an_optional_choice_is_refused(api, world):
    """severity= in a form counted as not given, so the template got the default severity."""
    multipart = api.post(
        "/api/room-templates/", {"name": "E1", "title_pattern": "x", "severity": ""}, format="multipart"
    )
    urlencoded = api.post(
        "/api/room-templates/", "name=E2&title_pattern=x&severity=", content_type="application/x-www-form-urlencoded"
    )
    for response in (multipart, urlencoded):
        assert_bad_input(response)
        assert "severity" in response.json()["error"]["details"]
