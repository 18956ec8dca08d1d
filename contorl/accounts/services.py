"""Writes to users and departments: versioned, audited."""

from django.db import transaction

from contorl import auditing as audit
from contorl.auditing import Sensitivity
from contorl.errors import ValidationFailed
from contorl.versioning import versioned_update

from .models import Department, User

ROLE_FIELDS = ("role", "department", "is_department_manager")


def _changes(user: User, fields: dict) -> dict:
    changes = {}
    for name, new in fields.items():
        old = getattr(user, name)
        old_v, new_v = getattr(old, "pk", old), getattr(new, "pk", new)
        if old_v != new_v:
            changes[name] = [old_v, new_v]
    return changes


@transaction.atomic
def user_update_role(*, user: User, version: int, by: User, request=None, **fields) -> User:
    """Change a user's role, department or manager flag (admins only)."""
    fields = {k: v for k, v in fields.items() if k in ROLE_FIELDS}
    changes = _changes(user, fields)
    user = versioned_update(user, version=version, fields=fields, by=by)
    if changes:
        audit.record(
            "user.role_change", actor=by, obj=user, sensitivity=Sensitivity.HIGH, changes=changes, request=request
        )
    return user


@transaction.atomic
def user_set_preferences(*, user: User, version: int, email_notifications: bool) -> User:
    """A user's own settings (for now: whether notifications also come by email)."""
    if not isinstance(email_notifications, bool):
        raise ValidationFailed.field("email_notifications", "true or false.")
    me = User.objects.get(pk=user.pk)  # a plain row, not request.user's lazy wrapper
    return versioned_update(me, version=version, fields={"email_notifications": email_notifications}, by=me)


@transaction.atomic
def user_set_admin(*, user: User, is_system_admin: bool, version: int, by: User, request=None) -> User:
    """Grant or revoke system administration; always a critical audit event."""
    changes = _changes(user, {"is_system_admin": is_system_admin})
    # is_staff follows so the Django admin opens for system admins.
    user = versioned_update(
        user, version=version, fields={"is_system_admin": is_system_admin, "is_staff": is_system_admin}, by=by
    )
    audit.record(
        "user.admin_change", actor=by, obj=user, sensitivity=Sensitivity.CRITICAL, changes=changes, request=request
    )
    return user


@transaction.atomic
def user_set_superuser(*, user: User, is_superuser: bool, version: int, by: User, request=None) -> User:
    """Grant or revoke Django superuser status (admin site only); critical like user_set_admin."""
    changes = _changes(user, {"is_superuser": is_superuser})
    user = versioned_update(user, version=version, fields={"is_superuser": is_superuser}, by=by)
    if changes:
        audit.record(
            "user.admin_change", actor=by, obj=user, sensitivity=Sensitivity.CRITICAL, changes=changes, request=request
        )
    return user


@transaction.atomic
def user_set_active(*, user: User, is_active: bool, version: int, by: User | None, request=None) -> User:
    """Activate or deactivate an account. A deactivated user's sockets close after commit
    (contorl/accounts/revocation.py) and their sessions and tokens stop authenticating."""
    if not isinstance(is_active, bool):
        raise ValidationFailed.field("is_active", "true or false.")
    changes = _changes(user, {"is_active": is_active})
    user = versioned_update(user, version=version, fields={"is_active": is_active}, by=by)
    if changes:
        audit.record(
            "user.activate" if is_active else "user.deactivate",
            actor=by,
            obj=user,
            sensitivity=Sensitivity.HIGH,
            changes=changes,
            request=request,
        )
    return user


@transaction.atomic
def permissions_record_change(*, obj, before: dict, after: dict, by: User, request=None) -> None:
    """Audit a change of Django groups/permissions (user or group), made in the admin.

    The admin's own m2m save wrote the rows; this records what changed, as
    `role.permission_change` (high), with added/removed names per relation.
    """
    changes = {}
    for name in after:
        old, new = set(before.get(name, ())), set(after[name])
        if old != new:
            changes[name] = {"added": sorted(new - old), "removed": sorted(old - new)}
    if changes:
        audit.record(
            "role.permission_change", actor=by, obj=obj, sensitivity=Sensitivity.HIGH, changes=changes, request=request
        )


@transaction.atomic
def department_create(*, name: str, code: str, by: User, request=None) -> Department:
    department = Department.objects.create(name=name, code=code)
    audit.record("department.create", actor=by, obj=department, sensitivity=Sensitivity.MEDIUM, request=request)
    return department


@transaction.atomic
def department_update(*, department: Department, version: int, by: User, request=None, **fields) -> Department:
    department = versioned_update(department, version=version, fields=fields, by=by)
    audit.record(
        "department.update", actor=by, obj=department, sensitivity=Sensitivity.MEDIUM, changes=fields, request=request
    )
    return department


@transaction.atomic
def user_refresh_tokens_revoke(*, user: User) -> int:
    """Blacklist every unexpired refresh token issued to `user` (sign out everywhere).

    `tokens_valid_after` already refuses them by their issue time; the blacklist is the
    record simplejwt itself checks, so a token stays refused whatever happens to that stamp.
    """
    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    live = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True)
    created = BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in live], ignore_conflicts=True)
    return len(created)
