"""Django admin for projects and tasks.

Every change form carries the version it was opened at; saving is a compare-and-set
(versioned_update or the task services), so an admin never silently overwrites a change
made meanwhile. Deleted tasks have their own list with restore actions that call
services.task_restore, exactly like the API.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import AuditTimelineMixin
from contorl.errors import Conflict, DomainError
from contorl.versioning import versioned_update

from . import services
from .models import (
    Attachment,
    Comment,
    CustomField,
    DeletedTask,
    Project,
    ProjectMember,
    ProjectTemplate,
    Status,
    Task,
    TaskDependency,
)


class VersionCheckForm(forms.ModelForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = (
                type(self.instance)._base_manager.filter(pk=self.instance.pk).values_list("version", flat=True).first()
            )
            if cleaned.get("expected_version") != current:
                raise ValidationError(
                    _("Someone else changed this (now version %(v)s) since you opened it. Reload the page."),
                    params={"v": current},
                )
        return cleaned


class VersionedAdmin(admin.ModelAdmin):
    """Saves changes with one compare-and-set UPDATE instead of a blind save()."""

    form = VersionCheckForm
    readonly_fields = ["version"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.save()
            return
        names = {f.name for f in obj._meta.concrete_fields}
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in names}
        try:
            versioned_update(obj, version=form.cleaned_data["expected_version"], fields=fields, by=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)


@admin.register(Project)
class ProjectAdmin(AuditTimelineMixin, SimpleHistoryAdmin, VersionedAdmin):
    list_display = ["key", "name", "department", "archived", "version"]
    list_filter = ["department", "archived"]
    search_fields = ["key", "name"]
    readonly_fields = ["version", "created_by", "created_at", "updated_at", "audit_timeline"]


@admin.register(ProjectMember)
class ProjectMemberAdmin(VersionedAdmin):
    """Membership is a permission change: through the services (audited, last-owner rule, socket kick)."""

    list_display = ["project", "user", "role"]
    list_filter = ["role", "project"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["version", "project", "user"] if obj is not None else ["version"]

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.member_update(
                    member=ProjectMember.objects.select_related("project", "user").get(pk=obj.pk),
                    role=form.cleaned_data["role"],
                    version=form.cleaned_data["expected_version"],
                    by=request.user,
                )
            else:
                obj.pk = services.member_add(project=obj.project, user=obj.user, role=obj.role, by=request.user).pk
        except DomainError as exc:
            self.message_user(request, f"{exc.message} {exc.details or ''}", messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.member_remove(member=obj, by=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for member in queryset.select_related("project", "user"):
            self.delete_model(request, member)


@admin.register(Status)
class StatusAdmin(VersionedAdmin):
    list_display = ["name", "project", "order", "is_done"]
    list_filter = ["project"]


@admin.register(CustomField)
class CustomFieldAdmin(VersionedAdmin):
    list_display = ["key", "name", "type", "project"]
    list_filter = ["type", "project"]

    def save_model(self, request, obj, form, change):
        # Formulas must pass the same checks (whitelist, cycles) as through the API.
        try:
            if change:
                fields = {
                    n: form.cleaned_data[n]
                    for n in form.changed_data
                    if n in ("name", "type", "options", "formula", "order")
                }
                services.custom_field_update(
                    field=CustomField.objects.get(pk=obj.pk),
                    version=form.cleaned_data["expected_version"],
                    by=request.user,
                    **fields,
                )
            else:
                services.custom_field_create(
                    project=obj.project,
                    by=request.user,
                    key=obj.key,
                    name=obj.name,
                    type=obj.type,
                    options=obj.options,
                    formula=obj.formula,
                    order=obj.order,
                )
        except DomainError as exc:
            self.message_user(request, f"{exc.message} {exc.details or ''}", messages.ERROR)


@admin.register(ProjectTemplate)
class ProjectTemplateAdmin(VersionedAdmin):
    list_display = ["name", "created_by", "updated_at"]
    readonly_fields = ["version", "created_by"]


@admin.register(Comment)
class CommentAdmin(VersionedAdmin):
    list_display = ["id", "task", "author", "created_at"]
    readonly_fields = ["version", "task", "author", "mentions"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["original_name", "task", "content_type", "size", "uploaded_by", "created_at"]
    readonly_fields = ["task", "file", "original_name", "content_type", "size", "uploaded_by"]

    def has_add_permission(self, request):
        return False  # uploads must pass the API's name/size/type checks


@admin.register(TaskDependency)
class TaskDependencyAdmin(admin.ModelAdmin):
    list_display = ["task", "depends_on", "created_at"]
    raw_id_fields = ["task", "depends_on"]

    def has_add_permission(self, request):
        return False  # new edges need the cycle check of services.dependency_add

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Task)
class TaskAdmin(AuditTimelineMixin, SimpleHistoryAdmin, VersionedAdmin):
    list_display = ["id", "title", "project", "status", "assignee", "priority", "version"]
    list_filter = ["project", "status", "priority"]
    search_fields = ["title"]
    raw_id_fields = ["parent", "assignee"]
    exclude = ["is_deleted", "deleted_at", "deleted_by"]
    readonly_fields = ["version", "custom_field_errors", "created_by", "created_at", "updated_at", "audit_timeline"]

    def get_queryset(self, request):
        return Task.objects.select_related("project", "status", "assignee")

    def save_model(self, request, obj, form, change):
        try:
            if change:
                fields = {n: form.cleaned_data[n] for n in form.changed_data if n in services.TASK_FIELDS}
                services.task_update(
                    task=Task.objects.get(pk=obj.pk),
                    version=form.cleaned_data["expected_version"],
                    by=request.user,
                    **fields,
                )
            else:
                fields = {n: form.cleaned_data.get(n) for n in services.TASK_FIELDS if n in form.cleaned_data}
                fields.pop("title", None)
                services.task_create(project=obj.project, by=request.user, title=obj.title, **fields)
        except DomainError as exc:
            self.message_user(request, f"{exc.message} {exc.details or ''}", messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.task_delete(task=Task.objects.get(pk=obj.pk), by=request.user, force=True)
        except DomainError as exc:  # the service's refusal, e.g. an archived (read-only) project
            self.message_user(request, exc.message, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for task in queryset:
            if not Task.all_objects.filter(pk=task.pk, is_deleted=True).exists():
                self.delete_model(request, task)


def _restore(modeladmin, request, queryset, *, cascade: bool):
    pending = list(Task.all_objects.filter(pk__in=queryset.values("pk"), is_deleted=True).order_by("deleted_at", "id"))
    restored, refused = 0, []
    # Parents first: a child selected together with its parent is restored by the parent's cascade
    # (or afterwards, once its parent is live again).
    progress = True
    while pending and progress:
        progress = False
        for task in list(pending):
            fresh = Task.all_objects.get(pk=task.pk)
            if not fresh.is_deleted:
                pending.remove(task)
                progress = True
                continue
            try:
                restored += len(services.task_restore(task=fresh, by=request.user, cascade=cascade))
                pending.remove(task)
                progress = True
            except Conflict:
                continue
            except DomainError as exc:  # the service's refusal, e.g. an archived (read-only) project
                pending.remove(task)
                progress = True
                modeladmin.message_user(request, f"#{task.pk} {task.title}: {exc.message}", messages.ERROR)
    for task in pending:
        refused.append(f"#{task.pk} {task.title}")
    if restored:
        modeladmin.message_user(
            request, ngettext("Restored %d task.", "Restored %d tasks.", restored) % restored, messages.SUCCESS
        )
    if refused:
        modeladmin.message_user(
            request,
            _("Not restored (the parent task is still deleted): %s") % ", ".join(refused),
            messages.WARNING,
        )


@admin.register(DeletedTask)
class DeletedTaskAdmin(AuditTimelineMixin, admin.ModelAdmin):
    list_display = ["id", "title", "project", "parent", "deleted_at", "deleted_by", "audit_timeline"]
    list_filter = ["project", "deleted_by", "deleted_at"]
    date_hierarchy = "deleted_at"
    search_fields = ["title"]
    actions = ["restore_with_subtasks", "restore_only"]
    ordering = ["-deleted_at", "id"]

    def get_queryset(self, request):
        return DeletedTask.objects.select_related("project", "deleted_by", "parent")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Restore with subtasks"), permissions=["view"])
    def restore_with_subtasks(self, request, queryset):
        _restore(self, request, queryset, cascade=True)

    @admin.action(description=_("Restore this task only"), permissions=["view"])
    def restore_only(self, request, queryset):
        _restore(self, request, queryset, cascade=False)
