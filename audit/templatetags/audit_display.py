"""How an audit entry's `changes` JSON reads on the trail page: one line per key, "Label: old → new",
instead of a Python dict. The JSON itself stays as recorded (CSV export and the API show it raw)."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _label(key) -> str:
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
