"""Project templates copy triggers (statuses by name, members only, new secrets)."""

import pytest

from automation import services
from automation.models import Trigger
from contorl.errors import Forbidden
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


def test_webhooks_copied_from_a_template_stay_off_until_an_owner_enables_them(
    project, people, eager, receiver, api_for, django_capture_on_commit_callbacks
):
    from audit.models import AuditLog
    from automation.models import TriggerExecution
    from automation.runner import WEBHOOKS_HELD_MESSAGE

    from .factories import make_task

    owner, member = people["owner"], people["member"]
    services.trigger_create(
        project=project,
        by=owner,
        name="exfiltrate",
        event="task_created",
        actions=[{"type": "set_field", "field": "priority", "value": 3}, {"type": "webhook", "url": receiver.url}],
    )
    services.trigger_create(
        project=project,
        by=owner,
        name="local only",
        event="task_created",
        actions=[{"type": "notify", "roles": ["owner"]}],
    )
    template = task_services.project_save_as_template(project=project, by=owner, name="Has a webhook")
    new = task_services.project_create(by=owner, name="From template", key="HOOKT", template=template)
    task_services.member_add(project=new, by=owner, user=member, role="member")
    copied = Trigger.objects.get(project=new, name="exfiltrate")
    assert copied.webhooks_enabled is False
    assert Trigger.objects.get(project=new, name="local only").webhooks_enabled is True
    listed = api_for(member).get(f"/api/projects/{new.pk}/triggers/").json()
    assert {t["name"]: t["webhooks_enabled"] for t in listed} == {"exfiltrate": False, "local only": True}

    # Fired while off: the local action runs, the webhook is not sent, the log says why.
    with django_capture_on_commit_callbacks(execute=True):
        task = make_task(new, owner, title="first")
    assert receiver.requests == []
    task.refresh_from_db()
    assert task.priority == 3
    row = TriggerExecution.objects.get(trigger=copied)
    assert (row.outcome, row.error) == ("success", WEBHOOKS_HELD_MESSAGE)

    # A member cannot enable them (neither through the API nor the service).
    url = f"/api/triggers/{copied.pk}/"
    res = api_for(member).patch(url, {"version": copied.version, "webhooks_enabled": True}, format="json")
    assert res.status_code == 403
    with pytest.raises(Forbidden):
        services.trigger_update(trigger=copied, version=copied.version, by=member, webhooks_enabled=True)
    copied.refresh_from_db()
    assert copied.webhooks_enabled is False

    # The owner enables them: audited, and the next run sends the webhook.
    res = api_for(owner).patch(url, {"version": copied.version, "webhooks_enabled": True}, format="json")
    assert res.status_code == 200, res.json()
    assert res.json()["webhooks_enabled"] is True
    entry = AuditLog.objects.get(event_type="trigger.webhooks_enable")
    assert entry.actor_id == owner.pk and entry.changes == {"urls": [receiver.url]}
    assert entry.sensitivity == "high"
    with django_capture_on_commit_callbacks(execute=True):
        make_task(new, owner, title="second")
    assert len(receiver.requests) == 1
    assert TriggerExecution.objects.filter(trigger=copied).order_by("-id").first().outcome == "success"


def test_a_trigger_of_only_held_webhooks_is_skipped(
    project, people, eager, receiver, django_capture_on_commit_callbacks
):
    from automation.models import TriggerExecution

    from .factories import make_task

    owner = people["owner"]
    services.trigger_create(
        project=project, by=owner, name="hook", event="task_created", actions=[{"type": "webhook", "url": receiver.url}]
    )
    dst = make_project(owner)
    (copied,) = services.copy_triggers(project, dst, by=owner)
    assert copied.webhooks_enabled is False
    with django_capture_on_commit_callbacks(execute=True):
        make_task(dst, owner)
    assert receiver.requests == []
    assert TriggerExecution.objects.get(trigger=copied).outcome == "skipped"
