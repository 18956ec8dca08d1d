"""Admin for incident rooms: read-mostly. Writes that matter go through the services."""

from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from contorl.errors import DomainError
from tasks.admin import VersionCheckForm

from .models import Message, MessageEditHistory, Reaction, Room, RoomFile, RoomMember, RoomTemplate


class RoomMemberInline(admin.TabularInline):
    model = RoomMember
    extra = 0
    fields = ("user", "role", "version", "created_at")
    readonly_fields = ("user", "role", "version", "created_at")
    can_delete = False


@admin.register(Room)
class RoomAdmin(SimpleHistoryAdmin):
    form = VersionCheckForm  # carries the version the form was opened at
    list_display = ("title", "status", "severity", "location", "last_seq", "created_by", "updated_at")
    list_filter = ("status", "severity")
    search_fields = ("title", "location", "description")
    readonly_fields = ("last_seq", "version", "created_at", "updated_at", "created_by")
    raw_id_fields = ("task",)
    inlines = [RoomMemberInline]

    def has_add_permission(self, request):
        return False  # rooms are opened through the app (owner membership, system message)

    def save_model(self, request, obj, form, change):
        # Through the one versioned write path, so history, audit and the live event happen,
        # with the version the form was opened at: a change made meanwhile (API, another
        # admin) is a conflict, never silently overwritten. The form's clean() catches most;
        # the compare-and-set catches a change between clean() and here.
        from . import services

        names = {f.name for f in Room._meta.concrete_fields}
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in names}
        current = Room.objects.get(pk=obj.pk)
        try:
            services.room_update(
                room=current, by=request.user, version=form.cleaned_data["expected_version"], fields=fields
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)


class RoomTemplateForm(VersionCheckForm):
    """The version check, then the template services' own field checks, shown on the form."""

    def clean(self):
        cleaned = super().clean()
        from . import services

        names = {f.name for f in RoomTemplate._meta.concrete_fields} & set(cleaned)
        fields = {name: cleaned[name] for name in (self.changed_data if self.instance.pk else names) if name in names}
        try:
            services.template_validate(fields)
        except DomainError as exc:
            for name, problems in (exc.details or {}).items():
                self.add_error(name if name in self.fields else None, problems)
        return cleaned


@admin.register(RoomTemplate)
class RoomTemplateAdmin(admin.ModelAdmin):
    form = RoomTemplateForm  # carries the version the form was opened at, like RoomAdmin
    list_display = ("name", "title_pattern", "severity", "location")
    search_fields = ("name",)
    readonly_fields = ("version", "created_by", "created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        # Through the template services (validation, audit, compare-and-set on the version the
        # form was opened at), as RoomAdmin does for rooms.
        from . import services

        names = {f.name for f in RoomTemplate._meta.concrete_fields} & set(form.cleaned_data)
        if not change:  # the form checked the fields already; the new row's id is what the admin needs
            created = services.template_create(by=request.user, **{name: form.cleaned_data[name] for name in names})
            obj.pk, obj.version, obj.created_by = created.pk, created.version, created.created_by
            return
        fields = {name: form.cleaned_data[name] for name in form.changed_data if name in names}
        current = RoomTemplate.objects.get(pk=obj.pk)
        try:
            services.template_update(
                template=current, by=request.user, version=form.cleaned_data["expected_version"], fields=fields
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)


class EditInline(admin.TabularInline):
    model = MessageEditHistory
    extra = 0
    can_delete = False
    readonly_fields = ("content", "edited_by", "edited_at")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("room", "seq", "sender", "message_type", "created_at", "edited_at", "deleted_at")
    list_filter = ("message_type",)
    search_fields = ("content",)
    list_select_related = ("room", "sender")
    inlines = [EditInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # messages change only through edit/delete (history, window, broadcast)


@admin.register(Reaction)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ("message", "user", "emoji", "created_at")
    list_select_related = ("message", "user")


@admin.register(RoomFile)
class RoomFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "room", "content_type", "size", "uploaded_by", "created_at")
    list_select_related = ("room", "uploaded_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
