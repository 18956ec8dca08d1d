"""Room edits in the Django admin are compare-and-set on the version the form was opened at."""

from html.parser import HTMLParser

import pytest

from rooms.models import Room
from tests.rooms.factories import make_room

pytestmark = pytest.mark.django_db


class _FormFields(HTMLParser):
    """The values a browser would post back from the change form, as it was rendered."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox", "file"):
            self.data[a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.data[a["name"]] = a.get("value") or "on"
        elif tag == "select":
            self._select = a.get("name")
            self.data.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.data[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n")


def open_form(client, room) -> dict:
    response = client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.content.decode())
    return {k: v for k, v in parser.data.items() if k not in ("csrfmiddlewaretoken", "_save")}


@pytest.fixture
def admin_client(client, make_user):
    root = make_user("superroot", is_superuser=True, is_staff=True, is_system_admin=True)
    client.force_login(root)
    return client


def test_the_second_of_two_open_admin_forms_gets_a_conflict(admin_client, user):
    room = make_room(user, title="Valve leak")
    first, second = open_form(admin_client, room), open_form(admin_client, room)
    assert first["expected_version"] == str(room.version)

    saved = admin_client.post(f"/admin/rooms/room/{room.pk}/change/", {**first, "title": "Valve leak, line 2"})
    assert saved.status_code == 302
    assert Room.objects.get(pk=room.pk).title == "Valve leak, line 2"

    stale = admin_client.post(f"/admin/rooms/room/{room.pk}/change/", {**second, "location": "Hall B"})
    assert stale.status_code == 200  # the form again, with the error
    assert "Someone else changed this" in stale.content.decode()
    fresh = Room.objects.get(pk=room.pk)
    assert fresh.title == "Valve leak, line 2" and fresh.location != "Hall B"
    assert fresh.version == room.version + 1


def test_an_api_edit_meanwhile_is_not_overwritten_by_the_admin(admin_client, api_for, user):
    room = make_room(user, title="Belt slip")
    form = open_form(admin_client, room)
    r = api_for(user).patch(f"/api/rooms/{room.pk}/", {"title": "Belt slip (API)", "version": room.version})
    assert r.status_code == 200, r.content
    stale = admin_client.post(f"/admin/rooms/room/{room.pk}/change/", {**form, "severity": "critical"})
    assert stale.status_code == 200 and "Someone else changed this" in stale.content.decode()
    assert Room.objects.get(pk=room.pk).title == "Belt slip (API)"


def test_a_fresh_admin_form_saves_through_the_service(admin_client, user):
    from audit.models import AuditLog

    room = make_room(user, title="Dust alarm")
    form = open_form(admin_client, room)
    saved = admin_client.post(f"/admin/rooms/room/{room.pk}/change/", {**form, "location": "Line 4"})
    assert saved.status_code == 302
    fresh = Room.objects.get(pk=room.pk)
    assert fresh.location == "Line 4" and fresh.version == room.version + 1
    assert AuditLog.objects.filter(event_type="room.update", object_id=str(room.pk)).exists()


# --- room templates: the same compare-and-set, through the template services -------------------
def open_template_form(client, template) -> dict:
    response = client.get(f"/admin/rooms/roomtemplate/{template.pk}/change/")
    assert response.status_code == 200
    parser = _FormFields()
    parser.feed(response.content.decode())
    return {k: v for k, v in parser.data.items() if k not in ("csrfmiddlewaretoken", "_save")}


@pytest.fixture
def template(user):
    from rooms import services

    return services.template_create(by=user, name="Line stop", title_pattern="{location} stoppage")


def test_the_second_of_two_open_template_forms_gets_a_conflict(admin_client, template):
    from rooms.models import RoomTemplate

    first, second = open_template_form(admin_client, template), open_template_form(admin_client, template)
    assert first["expected_version"] == str(template.version)
    url = f"/admin/rooms/roomtemplate/{template.pk}/change/"
    assert admin_client.post(url, {**first, "location": "Line 3"}).status_code == 302
    saved = RoomTemplate.objects.get(pk=template.pk)
    assert saved.location == "Line 3" and saved.version == template.version + 1

    stale = admin_client.post(url, {**second, "severity": "critical"})
    assert stale.status_code == 200 and "Someone else changed this" in stale.content.decode()
    fresh = RoomTemplate.objects.get(pk=template.pk)
    assert (fresh.location, fresh.severity, fresh.version) == ("Line 3", template.severity, template.version + 1)


def test_an_api_template_edit_meanwhile_is_not_overwritten_by_the_admin(admin_client, api_for, user, template):
    from rooms.models import RoomTemplate

    form = open_template_form(admin_client, template)
    r = api_for(user).patch(
        f"/api/room-templates/{template.pk}/", {"title_pattern": "{location} halt", "version": template.version}
    )
    assert r.status_code == 200, r.content
    stale = admin_client.post(f"/admin/rooms/roomtemplate/{template.pk}/change/", {**form, "location": "Hall B"})
    assert stale.status_code == 200 and "Someone else changed this" in stale.content.decode()
    fresh = RoomTemplate.objects.get(pk=template.pk)
    assert (fresh.title_pattern, fresh.location) == ("{location} halt", "")


def test_an_admin_template_edit_goes_through_the_service(admin_client, template):
    """Audited, and checked like the API: a pattern that would break every open is refused."""
    from audit.models import AuditLog
    from rooms.models import RoomTemplate

    url = f"/admin/rooms/roomtemplate/{template.pk}/change/"
    bad = admin_client.post(url, {**open_template_form(admin_client, template), "title_pattern": "{location.foo}"})
    assert bad.status_code == 200 and "title_pattern" in bad.context["adminform"].form.errors
    assert RoomTemplate.objects.get(pk=template.pk).title_pattern == "{location} stoppage"

    ok = admin_client.post(url, {**open_template_form(admin_client, template), "location": "Line 7"})
    assert ok.status_code == 302
    assert RoomTemplate.objects.get(pk=template.pk).version == template.version + 1
    assert AuditLog.objects.filter(event_type="room_template.update", object_id=str(template.pk)).exists()


def test_a_template_added_in_the_admin_is_created_by_the_service(admin_client):
    from audit.models import AuditLog
    from rooms.models import RoomTemplate

    response = admin_client.post(
        "/admin/rooms/roomtemplate/add/",
        {"name": "Dust", "title_pattern": "{location} dust", "severity": "high", "members": "[]"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    created = RoomTemplate.objects.get(name="Dust")
    assert created.created_by.username == "superroot" and created.version == 1
    assert AuditLog.objects.filter(event_type="room_template.create", object_id=str(created.pk)).exists()
