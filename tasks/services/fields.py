"""Custom fields and formula values: definitions, validation of values, recomputation."""

import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit import services as audit
from audit.services import Sensitivity
from contorl import events
from contorl.errors import (
    Conflict,
    FormulaCycle,
    ValidationFailed,
)
from contorl.events import project_group
from contorl.versioning import versioned_update

from .. import formulas, permissions
from ..models import (
    CustomField,
    Project,
    ProjectMember,
    Task,
)
from ._common import (
    _changes,
)

# --- custom fields -----------------------------------------------------------------------

RESERVED_KEYS = set(formulas.BUILTIN_NUMERIC) | {f.name for f in Task._meta.get_fields()}


def check_field_shape(*, key: str, type: str, options, formula: str, numeric_keys) -> None:
    """One field on its own: options only for selects, a formula only for formulas, and a
    formula that parses and names only numeric fields (`numeric_keys`, built-ins added)."""
    if key in RESERVED_KEYS:
        raise ValidationFailed.field("key", _("This key is reserved for a built-in task field."))
    if type == CustomField.Type.SELECT:
        if not isinstance(options, list) or not options or len(options) > 100:
            raise ValidationFailed.field("options", _("A select field needs 1-100 options."))
        if any(not isinstance(o, str) or not o.strip() or len(o) > 100 for o in options):
            raise ValidationFailed.field("options", _("Options are non-empty strings of at most 100 characters."))
        if len(set(options)) != len(options):
            raise ValidationFailed.field("options", _("Options must be unique."))
    elif options:
        raise ValidationFailed.field("options", _("Only select fields have options."))
    if type == CustomField.Type.FORMULA:
        if not isinstance(formula, str):
            raise ValidationFailed.field("formula", _("A formula is text."))
        try:
            formulas.validate(formula, [*formulas.BUILTIN_NUMERIC, *numeric_keys])
        except formulas.FormulaError as exc:
            raise ValidationFailed.field("formula", str(exc)) from None
    elif formula:
        raise ValidationFailed.field("formula", _("Only formula fields have a formula."))


def _check_field_definition(project: Project, *, key: str, type: str, options, formula: str, exclude=None) -> None:
    others = [f for f in CustomField.objects.filter(project=project) if exclude is None or f.pk != exclude.pk]
    numeric = [f.key for f in others if f.type in ("number", "formula")] + [key]
    check_field_shape(key=key, type=type, options=options, formula=formula, numeric_keys=numeric)
    if type == CustomField.Type.FORMULA:
        # The field being saved goes first, so a reported cycle starts (and ends) at it.
        graph = {key: formulas.references(formula)}
        graph.update({f.key: formulas.references(f.formula) for f in others if f.type == "formula"})
        cycle = formulas.find_cycle(graph)
        if cycle:
            raise FormulaCycle(
                _("Formula cycle: %(cycle)s.") % {"cycle": " -> ".join(cycle)},
                details={"cycle": cycle},
            )
    if exclude is not None and exclude.type in ("number", "formula") and type not in ("number", "formula"):
        users = [f.key for f in others if f.type == "formula" and exclude.key in formulas.references(f.formula)]
        if users:
            raise ValidationFailed.field(
                "type", _("Formula field(s) %(fields)s use this field.") % {"fields": ", ".join(users)}
            )


@transaction.atomic
def custom_field_create(*, project: Project, by, key: str, name: str, type: str, options=None, formula="", order=None):
    permissions.require_owner(by, project)
    options = options or []
    if CustomField.objects.filter(project=project, key=key).exists():
        raise ValidationFailed.field("key", _("This project already has a field with this key."))
    _check_field_definition(project, key=key, type=type, options=options, formula=formula)
    if order is None:
        order = CustomField.objects.filter(project=project).count()
    try:
        with transaction.atomic():
            field = CustomField.objects.create(
                project=project, key=key, name=name, type=type, options=options, formula=formula, order=min(order, 1000)
            )
    except IntegrityError:
        raise ValidationFailed.field("key", _("This project already has a field with this key.")) from None
    audit.record("project.custom_field_create", actor=by, obj=field, sensitivity=Sensitivity.LOW)
    if type == CustomField.Type.FORMULA:
        recompute_project_formulas(project)
    return field


@transaction.atomic
def custom_field_update(*, field: CustomField, version: int, by, **fields) -> CustomField:
    permissions.require_owner(by, field.project)
    allowed = {k: v for k, v in fields.items() if k in ("name", "type", "options", "formula", "order")}
    merged = {
        "key": field.key,
        "type": allowed.get("type", field.type),
        "options": allowed.get("options", field.options),
        "formula": allowed.get("formula", field.formula),
    }
    _check_field_definition(field.project, exclude=field, **merged)
    changes = _changes(field, allowed)
    field = versioned_update(field, version=version, fields=allowed, by=by)
    audit.record("project.custom_field_update", actor=by, obj=field, sensitivity=Sensitivity.LOW, changes=changes)
    recompute_project_formulas(field.project)
    return field


@transaction.atomic
def custom_field_delete(*, field: CustomField, by) -> None:
    permissions.require_owner(by, field.project)
    users = [
        f.key
        for f in CustomField.objects.filter(project_id=field.project_id, type="formula").exclude(pk=field.pk)
        if field.key in formulas.references(f.formula)
    ]
    if users:
        raise Conflict(
            _("Formula field(s) %(fields)s use this field.") % {"fields": ", ".join(users)}, details={"used_by": users}
        )
    audit.record("project.custom_field_delete", actor=by, obj=field, sensitivity=Sensitivity.LOW)
    project = field.project
    field.delete()
    # Stored values of the removed field are dropped lazily on the next write of each task.
    recompute_project_formulas(project)


# The task's own fields a formula may read, besides its custom values.
FORMULA_TASK_INPUTS = frozenset({"estimated_hours", "priority", "position"})


def _task_values(task: Task, custom: dict) -> dict:
    values = {k: v for k, v in custom.items()}
    for name in FORMULA_TASK_INPUTS:
        values[name] = getattr(task, name)
    return values


def recompute_project_formulas(project: Project) -> int:
    """Store fresh formula values on every task of the project (deleted ones too).

    Formula values are derived data, so this does not bump task versions: a client holding
    version n may still edit the task's own fields. Returns how many tasks changed.
    """
    fields = list(CustomField.objects.filter(project=project))
    formula_keys = {f.key for f in fields if f.type == "formula"}
    live_keys = {f.key for f in fields}
    changed = []
    # Locked: a task edit committing between this read and the bulk write below would
    # otherwise have its custom values overwritten with what we read before it.
    rows = Task.all_objects.filter(project=project).select_for_update().order_by("id")
    for task in rows.only("id", "custom_fields", "custom_field_errors", "estimated_hours", "priority", "position"):
        custom = {k: v for k, v in (task.custom_fields or {}).items() if k in live_keys and k not in formula_keys}
        results, errors = formulas.compute(fields, _task_values(task, custom))
        custom.update(results)
        if custom != task.custom_fields or errors != task.custom_field_errors:
            task.custom_fields, task.custom_field_errors = custom, errors
            changed.append(task)
    Task.all_objects.bulk_update(changed, ["custom_fields", "custom_field_errors"], batch_size=500)
    if changed:
        # Versions stay (derived data), so per-task events would be ignored as not newer:
        # one frame tells open boards to read the board again.
        events.publish(project_group(project.pk), "board_changed", {"project": project.pk, "reason": "formulas"})
    return len(changed)


def _clean_custom_values(project_id: int, fields: list, values, current: dict) -> dict:
    """Validate user-supplied custom values (merged over `current`); formula keys are read-only."""
    if not isinstance(values, dict):
        raise ValidationFailed.field("custom_fields", _("Expected an object of field key -> value."))
    by_key = {f.key: f for f in fields}
    errors: dict = {}
    merged = {k: v for k, v in (current or {}).items() if k in by_key}
    for key, value in values.items():
        field = by_key.get(key)
        if field is None:
            errors[key] = [_("No such custom field in this project.")]
            continue
        if field.type == "formula":
            errors[key] = [_("Formula fields are computed; they cannot be set.")]
            continue
        if value is None or value == "":
            merged.pop(key, None)
            continue
        try:
            merged[key] = _clean_custom_value(project_id, field, value)
        except ValueError as exc:
            errors[key] = [str(exc)]
    if errors:
        raise ValidationFailed(_("Invalid custom field values."), details={"custom_fields": errors})
    return merged


def _clean_custom_value(project_id: int, field: CustomField, value):
    if field.type == "text":
        if not isinstance(value, str) or len(value) > 1000:
            raise ValueError(_("Expected text of at most 1000 characters."))
        return value
    if field.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e12:
            raise ValueError(_("Expected a number between -1e12 and 1e12."))
        return value
    if field.type == "date":
        try:
            parsed = datetime.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
        except ValueError:
            parsed = None
        if parsed is None or not 1900 <= parsed.year <= 2200:
            raise ValueError(_("Expected a date as YYYY-MM-DD."))
        return parsed.isoformat()
    if field.type == "select":
        if value not in field.options:
            raise ValueError(_("Not one of the options."))
        return value
    if field.type == "user":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(_("Expected a user id."))
        if not ProjectMember.objects.filter(project_id=project_id, user_id=value).exists():
            raise ValueError(_("This user is not a member of the project."))
        return value
    raise ValueError(_("Unsupported field type."))
