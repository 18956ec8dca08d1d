"""Room templates: a named preset (title pattern, severity, members) to open rooms from."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import record as audit_record
from contorl.errors import Forbidden, ValidationFailed, VersionConflict
from contorl.versioning import versioned_update

from .. import payloads
from ..models import TITLE_MAX, Role, RoomTemplate
from .members import _check_role
from .rooms import _clean_room_fields, _title_fields_ok


def _clean_template(fields: dict) -> dict:
    out = {}
    for name, value in fields.items():
        if name == "name":
            value = (value or "").strip()
            if not value or len(value) > 120:
                raise ValidationFailed.field("name", _("A name of 1 to 120 characters is required."))
        elif name == "title_pattern":
            value = (value or "").strip()
            if not value or len(value) > TITLE_MAX:
                raise ValidationFailed.field("title_pattern", _("1 to %(max)s characters.") % {"max": TITLE_MAX})
            if not _title_fields_ok(value):
                raise ValidationFailed.field(
                    "title_pattern", _("Use {location} and {date} only; write {{ and }} for literal braces.")
                )
        elif name == "members":
            value = _clean_template_members(value)
        elif name in ("description", "location", "severity"):
            value = _clean_room_fields({name: value})[name]
        else:
            raise ValidationFailed.field(name, _("Unknown field."))
        out[name] = value
    return out


def _clean_template_members(value) -> list[dict]:
    if not isinstance(value, list) or len(value) > 200:
        raise ValidationFailed.field("members", _("A list of at most 200 {user, role} entries."))
    out, seen = [], set()
    User = get_user_model()
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("user"), int) or isinstance(item.get("user"), bool):
            raise ValidationFailed.field("members", _("Each entry needs an integer user and a role."))
        role = item.get("role", Role.EDITOR)
        _check_role(role)
        if item["user"] in seen:
            continue
        seen.add(item["user"])
        out.append({"user": item["user"], "role": role})
    found = set(User.objects.filter(pk__in=seen).values_list("pk", flat=True))
    if seen - found:
        raise ValidationFailed.field("members", _("Unknown users: %(users)s.") % {"users": sorted(seen - found)})
    return out


def template_validate(fields: dict) -> dict:
    """`fields` as template_create and template_update would store them, or ValidationFailed
    (the admin form shows the error on the form before it saves through them)."""
    return _clean_template(fields)


@transaction.atomic
def template_create(*, by, **fields) -> RoomTemplate:
    fields = _clean_template(fields)
    if "name" not in fields or "title_pattern" not in fields:
        raise ValidationFailed(_("name and title_pattern are required."), details={"name": [_("Required.")]})
    if RoomTemplate.objects.filter(name=fields["name"]).exists():
        raise ValidationFailed.field("name", _("A template with this name exists."))
    template = RoomTemplate.objects.create(created_by=by, **fields)
    audit_record("room_template.create", actor=by, obj=template)
    return template


@transaction.atomic
def template_update(*, template: RoomTemplate, by, version: int, fields: dict) -> RoomTemplate:
    _require_template_owner(template, by)
    fields = _clean_template(fields)
    try:
        template = versioned_update(template, version=version, fields=fields, by=by)
    except VersionConflict as exc:
        if exc.instance is not None:
            exc.current_data = payloads.template_payload(exc.instance)
        raise
    audit_record("room_template.update", actor=by, obj=template)
    return template


@transaction.atomic
def template_delete(*, template: RoomTemplate, by) -> None:
    _require_template_owner(template, by)
    audit_record("room_template.delete", actor=by, obj=template)
    template.delete()


def _require_template_owner(template: RoomTemplate, by) -> None:
    if template.created_by_id != by.pk and not by.is_admin:
        raise Forbidden(_("Only the template's author or an admin can change it."))
