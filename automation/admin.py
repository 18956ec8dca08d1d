"""Django admin: triggers are edited with their version checked; the logs are read-only."""

from django import forms
from django.contrib import admin, messages

from contorl.errors import DomainError, ValidationFailed

from . import rules, services
from .models import DueReminder, Trigger, TriggerExecution, WeeklyReport


class TriggerForm(forms.ModelForm):
    class Meta:
        model = Trigger
        fields = ("project", "name", "event", "conditions", "actions", "is_active", "webhooks_enabled")

    def clean(self):
        data = super().clean()
        project = data.get("project") or getattr(self.instance, "project", None)
        if project is not None and not self.errors:
            try:
                rules.validate(
                    project,
                    event=data.get("event"),
                    conditions=data.get("conditions") or [],
                    actions=data.get("actions") or [],
                )
            except ValidationFailed as exc:
                raise forms.ValidationError([f"{k}: {' '.join(v)}" for k, v in exc.details.items()]) from exc
        return data


@admin.register(Trigger)
class TriggerAdmin(admin.ModelAdmin):
    form = TriggerForm
    list_display = ("name", "project", "event", "is_active", "version", "updated_at")
    list_filter = ("event", "is_active", "project")
    search_fields = ("name",)
    readonly_fields = ("version", "created_by", "created_at", "updated_at")
    fields = ("project", "name", "event", "conditions", "actions", "is_active", "webhooks_enabled", *readonly_fields)

    def save_model(self, request, obj, form, change):
        fields = ("name", "event", "conditions", "actions", "is_active", "webhooks_enabled")
        data = {k: form.cleaned_data[k] for k in fields}
        try:
            if change:
                # The form was loaded at obj.version: a concurrent edit makes this a conflict.
                saved = services.trigger_update(trigger=obj, version=obj.version, by=request.user, **data)
            else:
                saved = services.trigger_create(project=form.cleaned_data["project"], by=request.user, **data)
            obj.pk, obj.version = saved.pk, saved.version
        except DomainError as exc:  # e.g. a concurrent edit (version conflict): say so, keep the row
            messages.error(request, exc.message)

    def delete_model(self, request, obj):
        try:
            services.trigger_delete(trigger=obj, by=request.user)
        except DomainError as exc:  # not an owner of the trigger's project: say so, keep the row
            messages.error(request, exc.message)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TriggerExecution)
class TriggerExecutionAdmin(_ReadOnly):
    list_display = ("trigger", "run_id", "attempt", "outcome", "task", "started_at", "finished_at", "deliveries")
    list_filter = ("outcome", "replay")
    search_fields = ("run_id", "error")
    actions = ["replay"]

    @admin.action(description="Replay the selected permanently failed runs")
    def replay(self, request, queryset):
        done = 0
        for row in queryset:
            try:
                services.execution_replay(execution=row, by=request.user)
                done += 1
            except DomainError as exc:
                messages.warning(request, f"{row}: {exc.message}")
        messages.info(request, f"{done} run(s) queued again.")


@admin.register(DueReminder)
class DueReminderAdmin(_ReadOnly):
    list_display = ("task", "due_date", "notified_user", "created_at")


@admin.register(WeeklyReport)
class WeeklyReportAdmin(_ReadOnly):
    list_display = ("project", "week", "created_at")
    list_filter = ("week",)
