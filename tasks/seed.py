"""Demo data for projects and tasks (called by `manage.py seed_demo`; safe to run again).

One template, two projects made from it (LINE3, PACK1), members (alice owner, bob member,
dave viewer, carol from Maintenance a member of LINE3 only), 50+ tasks with subtasks,
dependencies, custom fields and a formula field. Everything goes through the services, so
formula values, history and audit entries are real.
"""

import datetime
import random

from django.db import transaction

from . import services
from .models import Project, ProjectMember, ProjectTemplate, Task

TEMPLATE_NAME = "Production line (standard)"
TEMPLATE_DATA = {
    "statuses": [
        {"name": "Backlog", "color": "#8b949e", "order": 0, "is_done": False},
        {"name": "To do", "color": "#d29922", "order": 1, "is_done": False},
        {"name": "In progress", "color": "#1f6feb", "order": 2, "is_done": False},
        {"name": "Review", "color": "#a371f7", "order": 3, "is_done": False},
        {"name": "Done", "color": "#2ea043", "order": 4, "is_done": True},
    ],
    "custom_fields": [
        {"key": "rate", "name": "Hourly rate", "type": "number", "options": [], "formula": "", "order": 0},
        {
            "key": "cost",
            "name": "Cost",
            "type": "formula",
            "options": [],
            "formula": "{estimated_hours} * {rate}",
            "order": 1,
        },
        {
            "key": "urgency",
            "name": "Urgency score",
            "type": "formula",
            "options": [],
            "formula": "if({priority} >= 3, {cost} * 1.5, {cost})",
            "order": 2,
        },
        {
            "key": "area",
            "name": "Area",
            "type": "select",
            "options": ["Assembly", "Packing", "Utilities"],
            "formula": "",
            "order": 3,
        },
        {"key": "audit_date", "name": "Audit date", "type": "date", "options": [], "formula": "", "order": 4},
        {"key": "notes_ref", "name": "Reference", "type": "text", "options": [], "formula": "", "order": 5},
    ],
    "triggers": [],
}
PROJECTS = [
    ("LINE3", "Line 3 retrofit", "Retrofit of assembly line 3: new conveyor, sensors and safety fences.", True),
    ("PACK1", "Packing cell upgrade", "Robot packing cell: commissioning and operator training.", False),
]
WORK = [
    "Survey current layout",
    "Order conveyor modules",
    "Install conveyor",
    "Wire proximity sensors",
    "Calibrate vision system",
    "Update PLC program",
    "Safety fence installation",
    "Risk assessment",
    "Operator training",
    "Trial run",
    "Fix trial issues",
    "Write SOP",
    "Spare parts list",
    "Energy meter install",
    "Final acceptance",
    "Handover to production",
    "Noise measurement",
    "Label all cabinets",
    "Update drawings",
    "Lessons learned",
]
SUBTASKS = ["Prepare", "Execute", "Check"]


def seed(users: dict, stdout) -> None:
    alice, bob, carol, dave = (users.get(n) for n in ("alice", "bob", "carol", "dave"))
    if not all((alice, bob, carol, dave)):
        stdout.write("tasks: demo users missing, skipped")
        return
    with transaction.atomic():
        template = ProjectTemplate.objects.filter(name=TEMPLATE_NAME).first()
        if template is None:
            template = services.template_create(
                by=alice, name=TEMPLATE_NAME, data=TEMPLATE_DATA, description="Five columns, cost and urgency formulas."
            )
        rng = random.Random(3)  # noqa: S311 (demo data, deterministic on purpose)
        for key, name, description, with_carol in PROJECTS:
            if Project.objects.filter(key=key).exists():
                continue
            project = services.project_create(
                by=alice, name=name, key=key, description=description, template=template, department=alice.department
            )
            for member, role in ((bob, "member"), (dave, "viewer")) + (((carol, "member"),) if with_carol else ()):
                if not ProjectMember.objects.filter(project=project, user=member).exists():
                    services.member_add(project=project, user=member, role=role, by=alice)
            _tasks(project, rng, alice=alice, bob=bob, carol=carol if with_carol else None)
            stdout.write(f"tasks: project {key} with {Task.objects.filter(project=project).count()} tasks")


def _tasks(project, rng, *, alice, bob, carol) -> None:
    statuses = list(project.statuses.order_by("order"))
    assignees = [alice, bob] + ([carol] if carol else []) + [None]
    today = datetime.date.today()
    top = []
    for i, title in enumerate(WORK):
        start = today + datetime.timedelta(days=rng.randint(-20, 20))
        status = statuses[min(i * len(statuses) // len(WORK), len(statuses) - 1)]
        task = services.task_create(
            project=project,
            by=alice,
            title=title,
            status=status,
            description=f"{title} for {project.name}.",
            assignee=rng.choice(assignees),
            priority=rng.randint(0, 4),
            start_date=start,
            due_date=start + datetime.timedelta(days=rng.randint(1, 21)),
            estimated_hours=rng.choice([2, 4, 6, 8, 12, 16]),
            custom_fields={"rate": rng.choice([35, 48, 60]), "area": rng.choice(["Assembly", "Packing", "Utilities"])},
        )
        top.append(task)
        if i % 4 == 0:
            for sub in SUBTASKS:
                services.task_create(
                    project=project,
                    by=alice,
                    title=f"{sub}: {title.lower()}",
                    status=task.status,
                    parent=task,
                    assignee=task.assignee,
                    estimated_hours=2,
                    custom_fields={"rate": 40},
                )
    # a few chains of dependencies: install after ordering, trial after install, ...
    for later, earlier in ((2, 1), (3, 2), (4, 3), (9, 4), (9, 6), (10, 9), (14, 10), (15, 14), (11, 13)):
        services.dependency_add(task=top[later], depends_on=top[earlier], by=alice)
    # one deleted subtree, so the admin's recycle bin has something to restore
    services.task_delete(task=top[19], by=bob, force=True)
