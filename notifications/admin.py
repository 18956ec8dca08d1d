from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "recipient", "type", "title", "actor", "read_at"]
    list_filter = ["type", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username", "actor__username"]
    list_select_related = ["recipient", "actor"]
    raw_id_fields = ["recipient", "actor"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"
