"""What a trigger may say, and whether an event matches it.

Conditions: `[{"field": "priority", "op": "gt", "value": 2}, ...]`, all must hold.
  fields: the task's built-in fields (FIELD_TYPES) or `custom_fields.<key>`.
  ops: eq, ne, in, gt, lt, contains, changed (no value), from / to (the value before /
  after this write: `{"field": "status", "op": "to", "value": <status id>}`).
Actions: `[{"type": ...}, ...]`, run in order:
  notify   {"users": [ids], "roles": ["owner"|"member"|"viewer"|"assignee"], "message": str}
  set_field {"field": <settable field or custom_fields.<key>>, "value": ...}
  assign   {"user": id | null}
  move     {"status": <status id>}
  webhook  {"url": "https://..."}  (JSON POST, X-Contorl-Signature, Idempotency-Key; public
           addresses only unless the host is in WEBHOOK_ALLOWED_HOSTS, see egress.py)

Events carry a JSON snapshot (`context`): {"event", "task", "project", "before", "after",
"changed"}; before/after map field -> JSON value (dates ISO, numbers float, FKs ids).
"""

import datetime
from decimal import Decimal
from urllib.parse import urlsplit

from contorl.errors import ValidationFailed
from tasks.models import CustomField, ProjectMember, Status

from .egress import literal_refusal
from .models import Trigger

MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_TEXT = 500
MAX_LIST = 50
MAX_URL = 500

# Built-in task fields triggers can look at, with their value kind.
FIELD_TYPES = {
    "title": "text",
    "description": "text",
    "status": "status",
    "assignee": "user",
    "priority": "int",
    "start_date": "date",
    "due_date": "date",
    "estimated_hours": "number",
    "parent": "int",
}
SETTABLE = ("title", "description", "priority", "start_date", "due_date", "estimated_hours")
OPS = ("eq", "ne", "in", "gt", "lt", "contains", "changed", "from", "to")
ORDERED_KINDS = ("int", "number", "date")
ROLES = ("owner", "member", "viewer", "assignee")
ACTION_TYPES = ("notify", "set_field", "assign", "move", "webhook")
CUSTOM_PREFIX = "custom_fields."
# custom field type -> value kind used for checks and ordering
CUSTOM_KINDS = {
    "text": "text",
    "number": "number",
    "formula": "number",
    "date": "date",
    "select": "select",
    "user": "user",
}


# --- snapshots --------------------------------------------------------------------------


def json_value(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def snapshot(record) -> dict:
    """Trigger-visible fields of a task or a historical task record, as JSON values."""
    state = {
        name: json_value(getattr(record, f"{name}_id" if kind in ("status", "user") else name, None))
        for name, kind in FIELD_TYPES.items()
        if name != "parent"
    }
    state["parent"] = getattr(record, "parent_id", None)
    state["custom_fields"] = dict(getattr(record, "custom_fields", None) or {})
    return state


def changed_fields(before: dict | None, after: dict) -> list[str]:
    if before is None:
        return []
    changed = [name for name in FIELD_TYPES if before.get(name) != after.get(name)]
    old_cf, new_cf = before.get("custom_fields") or {}, after.get("custom_fields") or {}
    for key in sorted(set(old_cf) | set(new_cf)):
        if old_cf.get(key) != new_cf.get(key):
            changed.append(CUSTOM_PREFIX + key)
    return changed


# --- matching ---------------------------------------------------------------------------


def _get(state: dict | None, field: str):
    if state is None:
        return None
    if field.startswith(CUSTOM_PREFIX):
        return (state.get("custom_fields") or {}).get(field[len(CUSTOM_PREFIX) :])
    return state.get(field)


def _norm(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    return str(value)


def _ordered(a, b, op) -> bool:
    a, b = _norm(a), _norm(b)
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, float) != isinstance(b, float):
        return False
    return a > b if op == "gt" else a < b


def condition_holds(cond: dict, context: dict) -> bool:
    field, op, value = cond["field"], cond["op"], cond.get("value")
    after, before = context.get("after"), context.get("before")
    current = _get(after, field)
    if op == "eq":
        return _norm(current) == _norm(value)
    if op == "ne":
        return _norm(current) != _norm(value)
    if op == "in":
        return _norm(current) in {_norm(v) for v in value}
    if op in ("gt", "lt"):
        return _ordered(current, value, op)
    if op == "contains":
        return current is not None and str(value).casefold() in str(current).casefold()
    if op == "changed":
        return field in (context.get("changed") or [])
    if op == "from":
        return (
            before is not None
            and field in (context.get("changed") or [])
            and _norm(_get(before, field)) == _norm(value)
        )
    if op == "to":
        return field in (context.get("changed") or []) and _norm(current) == _norm(value)
    return False


def matches(conditions: list, context: dict) -> bool:
    # Runs inside the user's write: an odd stored value must never fail that write.
    try:
        return all(condition_holds(c, context) for c in conditions or [])
    except (TypeError, ValueError, KeyError, AttributeError):
        return False


# --- validation -------------------------------------------------------------------------


class _Errors:
    def __init__(self):
        self.items: dict[str, list[str]] = {}

    def add(self, where: str, message: str):
        self.items.setdefault(where, []).append(message)


def _field_kind(project_ctx: dict, field) -> str | None:
    if not isinstance(field, str) or len(field) > 60:
        return None
    if field.startswith(CUSTOM_PREFIX):
        return project_ctx["custom"].get(field[len(CUSTOM_PREFIX) :])
    return FIELD_TYPES.get(field)


def _check_value(project_ctx: dict, kind: str, value, *, field: str, custom_type: str | None = None) -> str | None:
    """An error message for `value` of a field of `kind`, or None when it is acceptable."""
    if value is None:
        return None
    if kind in ("text", "select"):
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            return f"Expected text of at most {MAX_TEXT} characters."
        if kind == "select" and value not in project_ctx["options"].get(field[len(CUSTOM_PREFIX) :], []):
            return "Not one of the field's options."
        return None
    if kind in ("int", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e12:
            return "Expected a number between -1e12 and 1e12."
        if kind == "int" and int(value) != value:
            return "Expected a whole number."
        return None
    if kind == "date":
        try:
            parsed = datetime.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        return None if parsed and 1900 <= parsed.year <= 2200 else "Expected a date as YYYY-MM-DD."
    if kind == "status":
        if isinstance(value, bool) or value not in project_ctx["statuses"]:
            return "Not a status of this project."
        return None
    if kind == "user":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            return "Expected a user id."
        return None
    return "Unsupported field."


def project_context(project) -> dict:
    """What validation needs to know about a project (3 small queries)."""
    custom, options, formula_keys = {}, {}, set()
    for f in CustomField.objects.filter(project=project).only("key", "type", "options"):
        custom[f.key] = CUSTOM_KINDS.get(f.type, "text")
        if f.type == "select":
            options[f.key] = list(f.options or [])
        if f.type == "formula":
            formula_keys.add(f.key)
    return {
        "statuses": set(Status.objects.filter(project=project).values_list("pk", flat=True)),
        "members": dict(ProjectMember.objects.filter(project=project).values_list("user_id", "role")),
        "custom": custom,
        "options": options,
        "formula_keys": formula_keys,
    }


def _condition_errors(ctx: dict, conditions, errors: _Errors) -> None:
    if not isinstance(conditions, list):
        errors.add("conditions", "Expected a list.")
        return
    if len(conditions) > MAX_CONDITIONS:
        errors.add("conditions", f"At most {MAX_CONDITIONS} conditions.")
        return
    for i, cond in enumerate(conditions):
        where = f"conditions[{i}]"
        if not isinstance(cond, dict) or set(cond) - {"field", "op", "value"}:
            errors.add(where, 'Expected {"field", "op", "value"}.')
            continue
        field, op = cond.get("field"), cond.get("op")
        kind = _field_kind(ctx, field)
        if kind is None:
            errors.add(where, f"Unknown field {str(field)[:60]!r}.")
            continue
        if op not in OPS:
            errors.add(where, f"Unknown op; use one of {', '.join(OPS)}.")
            continue
        if op == "changed":
            if "value" in cond:
                errors.add(where, "'changed' takes no value.")
            continue
        if "value" not in cond:
            errors.add(where, "A value is required.")
            continue
        value = cond["value"]
        if op in ("gt", "lt") and kind not in ORDERED_KINDS:
            errors.add(where, "gt/lt need a number or date field.")
            continue
        if op == "contains":
            if kind not in ("text", "select") or not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT:
                errors.add(where, f"contains needs a text field and 1-{MAX_TEXT} characters.")
            continue
        values = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not 0 < len(value) <= MAX_LIST):
            errors.add(where, f"'in' needs a list of 1-{MAX_LIST} values.")
            continue
        if op in ("gt", "lt") and value is None:
            errors.add(where, "gt/lt need a value.")
            continue
        for v in values:
            message = _check_value(ctx, kind, v, field=field)
            if message:
                errors.add(where, message)
                break


def _action_errors(ctx: dict, actions, errors: _Errors) -> None:
    if not isinstance(actions, list) or not actions:
        errors.add("actions", "Expected a non-empty list.")
        return
    if len(actions) > MAX_ACTIONS:
        errors.add("actions", f"At most {MAX_ACTIONS} actions.")
        return
    allowed_keys = {
        "notify": {"users", "roles", "message"},
        "set_field": {"field", "value"},
        "assign": {"user"},
        "move": {"status"},
        "webhook": {"url"},
    }
    for i, action in enumerate(actions):
        where = f"actions[{i}]"
        kind = action.get("type") if isinstance(action, dict) else None
        if kind not in ACTION_TYPES:
            errors.add(where, f"Unknown action type; use one of {', '.join(ACTION_TYPES)}.")
            continue
        extra = set(action) - allowed_keys[kind] - {"type"}
        if extra:
            errors.add(where, f"Unknown key(s): {', '.join(sorted(extra))[:100]}.")
            continue
        if kind == "notify":
            users, roles, message = action.get("users", []), action.get("roles", []), action.get("message", "")
            if (
                not isinstance(users, list)
                or len(users) > MAX_LIST
                or any(isinstance(u, bool) or not isinstance(u, int) or u not in ctx["members"] for u in users)
            ):
                errors.add(where, f"users: at most {MAX_LIST} ids of project members.")
            elif not isinstance(roles, list) or any(r not in ROLES for r in roles) or len(roles) > len(ROLES):
                errors.add(where, f"roles: a list of {', '.join(ROLES)}.")
            elif not users and not roles:
                errors.add(where, "Name at least one user or role to notify.")
            elif not isinstance(message, str) or len(message) > MAX_TEXT:
                errors.add(where, f"message: at most {MAX_TEXT} characters.")
        elif kind == "set_field":
            field, value = action.get("field"), action.get("value")
            if field in SETTABLE:
                kind_ = FIELD_TYPES[field]
            elif (
                isinstance(field, str)
                and field.startswith(CUSTOM_PREFIX)
                and field[len(CUSTOM_PREFIX) :] in ctx["custom"]
            ):
                if field[len(CUSTOM_PREFIX) :] in ctx["formula_keys"]:
                    errors.add(where, "Formula fields are computed; they cannot be set.")
                    continue
                kind_ = ctx["custom"][field[len(CUSTOM_PREFIX) :]]
            else:
                errors.add(where, f"field: one of {', '.join(SETTABLE)} or custom_fields.<key>.")
                continue
            if "value" not in action:
                errors.add(where, "A value is required (null clears the field).")
                continue
            if value is None and field in ("title", "priority"):
                errors.add(where, "This field cannot be cleared.")
                continue
            message = _check_value(ctx, kind_, value, field=field)
            if not message and field == "title" and not (isinstance(value, str) and 0 < len(value) <= 300):
                message = "A title of 1-300 characters."
            if not message and field == "priority" and not 0 <= value <= 4:
                message = "Priority is 0-4."
            if not message and field == "estimated_hours" and value is not None and not 0 <= value <= 10_000:
                message = "Estimated hours are 0-10000."
            if not message and kind_ == "user" and value is not None and value not in ctx["members"]:
                message = "Not a member of this project."
            if message:
                errors.add(where, message)
        elif kind == "assign":
            user = action.get("user", "missing")
            if user is not None and ctx["members"].get(user if isinstance(user, int) else None) not in (
                "owner",
                "member",
            ):
                errors.add(where, "user: an owner or member of this project, or null to unassign.")
        elif kind == "move":
            status = action.get("status")
            if isinstance(status, bool) or status not in ctx["statuses"]:
                errors.add(where, "status: a status of this project.")
        elif kind == "webhook":
            url = action.get("url")
            message = webhook_url_error(url)
            if message:
                errors.add(where, message)


def webhook_url_error(url) -> str | None:
    if not isinstance(url, str) or not 0 < len(url) <= MAX_URL:
        return f"url: 1-{MAX_URL} characters."
    try:
        parts = urlsplit(url)
    except ValueError:
        return "url: not a valid URL."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url: an http:// or https:// URL with a host."
    if parts.username or parts.password:
        return "url: credentials in the URL are not allowed; verify the signature instead."
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number or out of range)
    except ValueError:
        return "url: not a valid port."
    # Only the obvious case here (an internal IP written in the URL): names are resolved and
    # checked when the webhook is sent (egress.py), which is the check that counts.
    if literal_refusal(parts.hostname):
        return "url: internal addresses (loopback, private, link-local, ...) are not allowed."
    return None


def validate(project, *, event: str | None, conditions, actions, ctx: dict | None = None) -> None:
    """Raise ValidationFailed (details = where -> messages) unless the whole trigger is valid."""
    ctx = ctx or project_context(project)
    errors = _Errors()
    if event is not None and event not in Trigger.Event.values:
        errors.add("event", f"Unknown event; use one of {', '.join(Trigger.Event.values)}.")
    _condition_errors(ctx, conditions, errors)
    _action_errors(ctx, actions, errors)
    if errors.items:
        first_where, messages = next(iter(errors.items.items()))
        raise ValidationFailed(f"{first_where}: {messages[0]}", details=errors.items)
