"""Demo triggers for the demo projects (idempotent: matched by project and name)."""

from automation import services
from automation.models import Trigger
from tasks.models import Project, Status


def seed(users: dict, stdout) -> None:
    alice = users.get("alice")
    created = 0
    for project in Project.objects.filter(archived=False).order_by("id")[:2]:
        done = Status.objects.filter(project=project, is_done=True).order_by("order").first()
        specs = [
            {
                "name": "Urgent task created: tell the owners",
                "event": "task_created",
                "conditions": [{"field": "priority", "op": "eq", "value": 4}],
                "actions": [{"type": "notify", "roles": ["owner"], "message": "An urgent task was created."}],
            },
            {
                "name": "Due soon: remind assignee and owners",
                "event": "due_soon",
                "conditions": [],
                "actions": [{"type": "notify", "roles": ["assignee", "owner"], "message": "Due within a day."}],
            },
        ]
        if done is not None:
            specs.append(
                {
                    "name": "Finished: lower the priority",
                    "event": "status_changed",
                    "conditions": [{"field": "status", "op": "to", "value": done.pk}],
                    "actions": [{"type": "set_field", "field": "priority", "value": 0}],
                }
            )
        for spec in specs:
            if Trigger.objects.filter(project=project, name=spec["name"]).exists():
                continue
            services.trigger_create(project=project, by=alice, **spec)
            created += 1
    stdout.write(f"automation: {created} demo trigger(s) created")
