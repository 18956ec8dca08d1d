from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Department, User

# Fields whose change is a privilege change: the admin routes them through the same
# services as the API, so they are versioned and audited exactly like PATCH /api/users/.
ROLE_FIELDS = services.ROLE_FIELDS
PRIVILEGE_FIELDS = (*ROLE_FIELDS, "is_system_admin", "is_superuser")


def _permission_names(obj) -> dict:
    names = {"permissions": [f"{p.content_type.app_label}.{p.codename}" for p in _perms(obj)]}
    if isinstance(obj, User):
        names["groups"] = [g.name for g in obj.groups.all()]
    return names


def _perms(obj):
    related = obj.user_permissions if isinstance(obj, User) else obj.permissions
    return related.select_related("content_type").all()


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    readonly_fields = ["version"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "department", "role", "is_department_manager", "is_system_admin", "is_active"]
    list_filter = ["department", "role", "is_department_manager", "is_system_admin", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (
        (
            _("CONTORL"),
            {
                "fields": (
                    "department",
                    "role",
                    "is_department_manager",
                    "is_system_admin",
                    "weekly_capacity_hours",
                    "email_notifications",
                    "version",
                )
            },
        ),
    )
    readonly_fields = ["version"]

    def save_model(self, request, obj, form, change):
        changed = [name for name in PRIVILEGE_FIELDS if name in form.changed_data]
        if not change or not changed:
            super().save_model(request, obj, form, change)
            return
        # Save the ordinary fields with the stored privilege values, then apply the
        # privilege changes through the services (which compare old/new and audit).
        stored = User.objects.get(pk=obj.pk)
        wanted = {name: getattr(obj, name) for name in changed}
        for name in changed:
            setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)
        role = {name: wanted[name] for name in ROLE_FIELDS if name in wanted}
        if role:
            services.user_update_role(user=obj, version=obj.version, by=request.user, request=request, **role)
        if "is_system_admin" in wanted:
            services.user_set_admin(
                user=obj,
                is_system_admin=wanted["is_system_admin"],
                version=obj.version,
                by=request.user,
                request=request,
            )
        if "is_superuser" in wanted:
            services.user_set_superuser(
                user=obj, is_superuser=wanted["is_superuser"], version=obj.version, by=request.user, request=request
            )

    def save_related(self, request, form, formsets, change):
        before = _permission_names(form.instance) if change else {}
        super().save_related(request, form, formsets, change)
        if change:
            services.permissions_record_change(
                obj=form.instance,
                before=before,
                after=_permission_names(form.instance),
                by=request.user,
                request=request,
            )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    def save_related(self, request, form, formsets, change):
        before = _permission_names(form.instance) if change else {}
        super().save_related(request, form, formsets, change)
        services.permissions_record_change(
            obj=form.instance, before=before, after=_permission_names(form.instance), by=request.user, request=request
        )


from . import sessions_admin  # noqa: E402,F401  (browser sessions: list + sign out everywhere)
