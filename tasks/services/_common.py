"""Shared pieces of the task services: constants, hook lists, change diffs, event helper."""

import datetime
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from django.utils.translation import gettext_noop

from contorl import events
from contorl.events import project_group

from ..models import (
    Task,
)
from ..selectors import task_fresh, task_payload
from ..signals import task_event

log = logging.getLogger("contorl.tasks")

DEFAULT_STATUSES = [
    {"name": "To do", "color": "#8b949e", "order": 0, "is_done": False},
    {"name": "In progress", "color": "#1f6feb", "order": 1, "is_done": False},
    {"name": "Done", "color": "#2ea043", "order": 2, "is_done": True},
]
TASK_FIELDS = (
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
)
MAX_SUBTASK_DEPTH = 20
NOT_IN_PROJECT = gettext_noop("No such live item in this project.")  # translated where raised
MAX_BULK_ITEMS = 200

# Template hooks: other apps (e.g. automation/triggers) append callables here.
#   TEMPLATE_SNAPSHOT_HOOKS: fn(project) -> (data_key, list) stored in ProjectTemplate.data[data_key]
#   TEMPLATE_APPLY_HOOKS:    fn(project, template_data: dict, by) copies its part into a new project
TEMPLATE_SNAPSHOT_HOOKS: list[Callable] = []
TEMPLATE_APPLY_HOOKS: list[Callable] = []


def _pk(value):
    return getattr(value, "pk", value)


def _changes(obj, fields: dict) -> dict:
    changes = {}
    for name, new in fields.items():
        old = getattr(obj, name)
        old_v, new_v = _pk(old), _pk(new)
        if isinstance(old_v, (datetime.date, Decimal)):
            old_v = str(old_v)
        if isinstance(new_v, (datetime.date, Decimal)):
            new_v = str(new_v)
        if old_v != new_v:
            changes[name] = [old_v, new_v]
    return changes


def _publish_task(event_type: str, task: Task, by, *, current: bool = False) -> dict:
    """`current`: `task` holds what was just written and its payload data (a PATCH read it with
    tasks_with_payload_data and changed only its own columns), so it is not read again."""
    # Listeners (automation) first: what they queue goes out after commit before the board event, as before.
    task_event.send(sender=Task, task=task, event_type=event_type, by=by)
    payload = task_payload(task if current else task_fresh(task.pk))
    events.publish(project_group(task.project_id), event_type, payload, actor=by)
    return payload


class TaskWrite(NamedTuple):
    """A task write's outcome: the row, and the payload its event carried. The API answers
    with that payload: what the boards were sent, without reading the task again."""

    task: Task
    payload: dict
