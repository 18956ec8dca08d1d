"""Read-only audit trail in the Django admin: nobody (not even a superuser) adds, edits or deletes."""

from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import AuditLog


def timeline_url(obj) -> str:
    """Admin changelist of every audit entry about `obj` (for other apps' admin links)."""
    label = obj._meta.concrete_model._meta.label_lower  # a proxy (DeletedTask) is audited as its model
    query = urlencode({"object_type": label, "object_id": str(obj.pk)})
    return reverse("admin:audit_auditlog_changelist") + "?" + query


def timeline_link(obj) -> str:
    return format_html('<a href="{}">{}</a>', timeline_url(obj), _("Audit timeline"))


class AuditTimelineMixin:
    """Adds an "Audit timeline" link (every audit entry about the object) to an admin."""

    @admin.display(description=_("Audit timeline"))
    def audit_timeline(self, obj):
        return timeline_link(obj) if obj is not None and obj.pk else "-"


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "event_type", "sensitivity", "actor", "object_type", "object_id", "ip"]
    list_filter = ["sensitivity", "event_type", "object_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["event_type", "object_type", "object_id", "actor__username", "request_id", "ip"]
    list_select_related = ["actor"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditLog._meta.fields]
    fields = readonly_fields
    actions = None  # no bulk delete
    show_full_result_count = False

    def lookup_allowed(self, lookup, value, request=None):
        if lookup in ("object_type", "object_id", "actor__id__exact"):
            return True  # the per-object timeline link filters on these
        return super().lookup_allowed(lookup, value, request)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_admin

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_admin

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
