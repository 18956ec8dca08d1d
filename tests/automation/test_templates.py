"""Project templates copy triggers (statuses by name, members only, new secrets)."""

import pytest

from automation import services
from automation.models import Trigger
from tasks import services as task_services

from .factories import make_project, status

pytestmark = pytest.mark.django_db


@pytest.fixture
def src_triggers(project, people):
    owner, member = people["owner"], people["member"]
    a = services.trigger_create(
        project=project,
        by=owner,
        name="A move",
        event="status_changed",
        conditions=[
            {"field": "status", "op": "to", "value": status(project, "Doing").pk},
            {"field": "priority", "op": "gt", "value": 1},
        ],
        actions=[{"type": "move", "status": status(project, "Done").pk}],
    )
    b = services.trigger_create(
        project=project,
        by=owner,
        name="B notify",
        event="task_created",
        actions=[
            {"type": "notify", "users": [member.pk], "roles": ["owner"]},
            {"type": "webhook", "url": "https://example.com/h"},
        ],
    )
    c = services.trigger_create(
        project=project,
        by=owner,
        name="C assign",
        event="task_created",
        actions=[{"type": "assign", "user": member.pk}],
        is_active=False,
    )
    return a, b, c


def test_save_as_template_then_create_project_copies_triggers(project, people, src_triggers):
    owner = people["owner"]
    template = task_services.project_save_as_template(project=project, by=owner, name="With triggers")
    names = [t["name"] for t in template.data["triggers"]]
    assert names == ["A move", "B notify", "C assign"]
    assert template.data["triggers"][0]["actions"][0]["status"] == {"status_name": "Done"}
    new = task_services.project_create(by=owner, name="From template", key="FROMT", template=template)
    copied = {t.name: t for t in Trigger.objects.filter(project=new)}
    # C assigned a user who is not a member of the new project: nothing left to do, skipped.
    assert set(copied) == {"A move", "B notify"}
    a = copied["A move"]
    assert a.conditions[0]["value"] == status(new, "Doing").pk
    assert a.actions == [{"type": "move", "status": status(new, "Done").pk}]
    assert copied["B notify"].actions[0] == {"type": "notify", "users": [], "roles": ["owner"]}
    assert copied["B notify"].secret != src_triggers[1].secret
    assert all(t.version == 1 and t.created_by == owner for t in copied.values())


def test_copy_triggers_from_project_keeps_members_and_inactive_flag(project, people, src_triggers):
    owner, member = people["owner"], people["member"]
    dst = make_project(owner, members=[(member, "member")])
    created = services.copy_triggers(project, dst, by=owner)
    assert sorted(t.name for t in created) == ["A move", "B notify", "C assign"]
    c = Trigger.objects.get(project=dst, name="C assign")
    assert c.actions == [{"type": "assign", "user": member.pk}] and c.is_active is False


def test_copy_skips_triggers_whose_status_is_missing(project, people, src_triggers):
    dst = make_project(people["owner"], statuses=(("Backlog", False), ("Done", True)))
    created = services.copy_triggers(project, dst)
    assert "A move" not in {t.name for t in created}  # "Doing" does not exist there
