from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from contorl.history import HistoricalRecords
from contorl.versioning import Versioned

TITLE_MAX = 200
DESCRIPTION_MAX = 5000


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")


class Room(Versioned):
    class Status(models.TextChoices):
        # Contexts keep these apart from other apps' "Active" (e.g. an enabled trigger).
        ACTIVE = "active", pgettext_lazy("room status", "Active")
        RESOLVED = "resolved", pgettext_lazy("room status", "Resolved")
        ARCHIVED = "archived", pgettext_lazy("room status", "Archived")

    title = models.CharField(_("title"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    severity = models.CharField(_("severity"), max_length=12, choices=Severity.choices, default=Severity.MEDIUM)
    location = models.CharField(_("location / line"), max_length=120, blank=True, default="")
    # Optional link to the project task this incident is about (the room outlives the task).
    task = models.ForeignKey(
        "tasks.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="incident_rooms",
        verbose_name=_("task"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The per-room message counter. Only rooms.services (allocate_seq, or on PostgreSQL the
    # insert's own CTE) touches it, inside the same transaction as the message insert, so a
    # rollback also rolls the counter back.
    last_seq = models.BigIntegerField(default=0, editable=False)

    history = HistoricalRecords(excluded_fields=["last_seq"])

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "resolved", "archived"]), name="room_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(severity__in=["low", "medium", "high", "critical"]), name="room_severity_valid"
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="room_last_seq_nonneg"),
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self):
        return self.title


class RoomMember(Versioned):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="room_member_unique"),
            models.CheckConstraint(condition=Q(role__in=["owner", "editor", "viewer"]), name="room_member_role_valid"),
        ]

    def __str__(self):
        return f"{self.user_id}@{self.room_id} ({self.role})"


class RoomTemplate(Versioned):
    """A preset to open a room in one step. `members` is a list of {"user": id, "role": role}."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    # May use {location} and {date}; rooms.services.room_create_from_template fills them.
    title_pattern = models.CharField(_("title pattern"), max_length=TITLE_MAX)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True, default="")
    severity = models.CharField(_("severity"), max_length=12, choices=Severity.choices, default=Severity.MEDIUM)
    location = models.CharField(_("location / line"), max_length=120, blank=True, default="")
    members = models.JSONField(_("members"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=["low", "medium", "high", "critical"]), name="room_template_severity_valid"
            ),
        ]

    def __str__(self):
        return self.name


class MessageType(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE_REF = "image_ref", _("Image")
    FILE_REF = "file_ref", _("File")
    SYSTEM = "system", _("System")
    INCIDENT_DATA = "incident_data", _("Incident data")


class Message(Versioned):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="room_messages"
    )
    # 10 KB of UTF-8 is enforced by the service (bytes, not characters); this is a backstop.
    content = models.TextField(max_length=40_000, blank=True, default="")
    message_type = models.CharField(max_length=16, choices=MessageType.choices, default=MessageType.TEXT)
    metadata = models.JSONField(default=dict, blank=True)
    seq = models.BigIntegerField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["room_id", "seq"]
        constraints = [
            # The database, not the allocator, is the last word on "no duplicate seq".
            models.UniqueConstraint(fields=["room", "seq"], name="message_room_seq_unique"),
            # A retried send (same sender, same client_id) is stored once.
            models.UniqueConstraint(
                fields=["sender", "client_id"], condition=Q(client_id__isnull=False), name="message_client_id_unique"
            ),
            models.CheckConstraint(condition=Q(seq__gte=1), name="message_seq_positive"),
            models.CheckConstraint(
                condition=Q(message_type__in=["text", "image_ref", "file_ref", "system", "incident_data"]),
                name="message_type_valid",
            ),
        ]

    def __str__(self):
        return f"#{self.seq} in room {self.room_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class MessageEditHistory(models.Model):
    """One row per edit: the content as it was before that edit."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits")
    content = models.TextField(max_length=40_000, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "edited_at", "id"]

    def __str__(self):
        return f"edit of message {self.message_id} at {self.edited_at}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message_id", "created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")]

    def __str__(self):
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class RoomFile(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="files")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Stored under a server-generated name; the user's name is only ever shown, never used as a path.
    file = models.FileField(max_length=255)
    thumbnail = models.FileField(max_length=255, blank=True, default="")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(size__gte=0), name="room_file_size_nonneg")]

    def __str__(self):
        return self.original_name

    @property
    def is_image(self) -> bool:
        return bool(self.thumbnail)
