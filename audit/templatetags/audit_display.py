"""How an audit entry's `changes` JSON reads on the trail page: one line per key, "Label: old → new",
instead of a Python dict. The JSON itself stays as recorded (CSV export and the API show it raw)."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()


# Keys that services record often; any other key is shown humanised ("run_id" -> "Run id").
LABELS = {
    "title": gettext_lazy("Title"),
    "status": gettext_lazy("Status"),
    "assignee": gettext_lazy("Assignee"),
    "priority": gettext_lazy("Priority"),
    "due_date": gettext_lazy("Due date"),
    "start_date": gettext_lazy("Start date"),
    "custom_fields": gettext_lazy("Custom fields"),
    "user": gettext_lazy("User"),
    "role": gettext_lazy("Role"),
    "name": gettext_lazy("Name"),
    "project": gettext_lazy("Project"),
    "task": gettext_lazy("Task"),
    "tasks": gettext_lazy("Tasks"),
    "depends_on": gettext_lazy("Depends on"),
    "cascade": gettext_lazy("With subtasks"),
    "force": gettext_lazy("Despite dependents"),
    "restored": gettext_lazy("Restored"),
    "count": gettext_lazy("Count"),
    "sessions": gettext_lazy("Sessions"),
    "browser": gettext_lazy("Browser"),
    "username": gettext_lazy("User name"),
    "size": gettext_lazy("Size"),
}


def _label(key) -> str:
    if key in LABELS:
        return str(LABELS[key])
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)}: {_value(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value) or "—"
    return str(value)


@register.filter
def change_lines(changes) -> list[str]:
    """{"status": [1, 2], "count": 3} -> ["Status: 1 → 2", "Count: 3"]; anything else -> one line."""
    if not changes:
        return []
    if not isinstance(changes, dict):
        return [_value(changes)]
    lines = []
    for key, value in changes.items():
        if isinstance(value, list | tuple) and len(value) == 2:
            lines.append(f"{_label(key)}: {_value(value[0])} → {_value(value[1])}")
        else:
            lines.append(f"{_label(key)}: {_value(value)}")
    return lines
