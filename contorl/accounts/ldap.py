"""Directory sign-in: django-auth-ldap plus CONTORL's rules.

- Local accounts with a usable password (the break-glass admin) never touch the
  directory, so they sign in even when it is down.
- A disabled directory account (Active Directory's ACCOUNTDISABLE bit, an expired
  shadowExpire, a ppolicy lock, nsAccountLock) cannot sign in, and its CONTORL user is
  deactivated and signed out everywhere.
- On every sign-in, name and e-mail come from attributes (django-auth-ldap), and
  department, role, manager flag and system admin from group membership through
  LDAP_GROUP_MAP, written through contorl.accounts.services so role changes are audited
  (user.role_change) and admin grants/revocations are audited as user.admin_change (critical).
- The directory being unreachable shows a clear message on the sign-in page.
"""

import datetime
import logging

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.utils.translation import gettext as _
from django_auth_ldap.backend import LDAPBackend, ldap_error

from contorl import metrics

from . import services
from .models import Department, User

log = logging.getLogger("contorl.ldap")

ROLE_RANK = {role: rank for rank, role in enumerate(("operator", "engineer", "supervisor", "manager"))}
AD_ACCOUNTDISABLE = 0x2


def _first(attrs: dict, name: str) -> str | None:
    values = attrs.get(name) or attrs.get(name.lower()) or []
    return str(values[0]) if values else None


def directory_account_disabled(attrs: dict, *, today: datetime.date | None = None) -> bool:
    """True when the directory marks the account disabled, in any of the common dialects."""
    today = today or datetime.date.today()
    uac = _first(attrs, "userAccountControl")
    if uac and uac.lstrip("-").isdigit() and int(uac) & AD_ACCOUNTDISABLE:
        return True
    expire = _first(attrs, "shadowExpire")  # days since 1970-01-01; -1 means never
    if (
        expire
        and expire.lstrip("-").isdigit()
        and int(expire) >= 0
        and datetime.date(1970, 1, 1) + datetime.timedelta(days=int(expire)) <= today
    ):
        return True
    if _first(attrs, "pwdAccountLockedTime"):
        return True
    return (_first(attrs, "nsAccountLock") or "").lower() == "true"


def directory_profile(*, group_dns, group_names, attrs: dict) -> dict:
    """What the directory says this user is: role, department code, manager and admin flags.

    Rules (documented in deploy/README.md): system admin if any mapped group grants it; role
    is the highest granted (operator < engineer < supervisor < manager), else
    LDAP_DEFAULT_ROLE; department is the first mapped group naming one, in LDAP_GROUP_MAP's
    order, else the LDAP_ATTR_DEPARTMENT attribute; department manager if a matching group
    for that department grants it.
    """
    mapping: dict = settings.LDAP_GROUP_MAP
    member_of = {str(g).lower() for g in group_dns} | {str(g).lower() for g in group_names}
    grants = [grant for key, grant in mapping.items() if key in member_of]
    roles = [grant["role"] for grant in grants if "role" in grant]
    department = next((grant["department"] for grant in grants if grant.get("department")), None)
    if department is None and settings.LDAP_ATTR_DEPARTMENT:
        department = _first(attrs, settings.LDAP_ATTR_DEPARTMENT)
    manager = any(
        grant.get("department_manager") and grant.get("department", department) == department for grant in grants
    )
    return {
        "role": max(roles, key=ROLE_RANK.__getitem__) if roles else settings.LDAP_DEFAULT_ROLE,
        "department": department,
        "is_department_manager": bool(manager and department),
        "is_system_admin": any(grant.get("system_admin") for grant in grants),
    }


def find_department(value: str | None) -> Department | None:
    if not value:
        return None
    value = value.strip()
    return (
        Department.objects.filter(code__iexact=value).first() or Department.objects.filter(name__iexact=value).first()
    )


@transaction.atomic
def user_sync_from_directory(*, user: User, profile: dict) -> User:
    """Apply a directory profile through the account services (audited, versioned)."""
    user = User.objects.select_for_update().get(pk=user.pk)  # fresh version; serialises parallel sign-ins
    fields = {
        "role": profile["role"],
        "department": find_department(profile["department"]),
        "is_department_manager": profile["is_department_manager"],
    }
    if any(getattr(user, name) != value for name, value in fields.items()):
        user = services.user_update_role(user=user, version=user.version, by=None, **fields)
    if user.is_system_admin != profile["is_system_admin"]:
        user = services.user_set_admin(
            user=user, is_system_admin=profile["is_system_admin"], version=user.version, by=None
        )
    return user


def _deactivate(username: str) -> None:
    """A disabled directory account loses its CONTORL access at once, sessions included."""
    from .sessions import user_sign_out_everywhere

    user = User.objects.filter(username=username, is_active=True).first()
    if user is None or user.has_usable_password():
        return
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user_sign_out_everywhere(user=user, by=None)


class DirectoryBackend(LDAPBackend):
    """The LDAP backend CONTORL puts before ModelBackend when LDAP_SERVER_URI is set."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username and self._is_local_account(username):
            return None  # ModelBackend's job; never let the directory overwrite a local admin
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _is_local_account(username: str) -> bool:
        user = User.objects.filter(username=username.strip()).only("password").first()
        return user is not None and user.has_usable_password()

    def get_or_build_user(self, username, ldap_user):
        # Runs after the password bind succeeded and before anything is written.
        if directory_account_disabled(ldap_user.attrs or {}):
            _deactivate(username)
            raise ldap_user.AuthenticationFailed("directory account is disabled")
        user, built = super().get_or_build_user(username, ldap_user)
        user.is_active = True  # re-enabled in the directory: access comes back with it
        return user, built

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        if user is None:
            return None
        profile = directory_profile(
            group_dns=ldap_user.group_dns, group_names=ldap_user.group_names, attrs=ldap_user.attrs or {}
        )
        synced = user_sync_from_directory(user=user, profile=profile)
        synced.ldap_user = ldap_user
        return synced


def _directory_error(sender, context, user, request, exception, **kwargs):
    """Sign-in could not reach (or use) the directory: say so on the page, not just in the log."""
    if context not in ("authenticate", "search_for_user_dn"):
        return
    log.warning("directory sign-in failed: %s", exception.__class__.__name__)
    metrics.signin("directory_unavailable")
    if request is not None:
        request.contorl_directory_error = True
        messages.error(
            getattr(request, "_request", request),
            _(
                "The company directory could not be reached, so directory accounts cannot sign in "
                "right now. Try again in a few minutes; local accounts still work."
            ),
            fail_silently=True,
        )


ldap_error.connect(_directory_error, sender=DirectoryBackend, dispatch_uid="contorl.ldap.error")
