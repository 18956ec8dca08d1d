"""Django admin for browser sessions: admins see who is signed in where, and sign people out."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import sessions
from .sessions_models import UserSession


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    list_display = ["user", "browser", "ip", "backend", "created_at", "last_seen_at"]
    list_filter = ["backend"]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    readonly_fields = ["user", "user_agent", "ip", "backend", "created_at", "last_seen_at"]
    exclude = ["session_key", "key_hash"]
    actions = ["sign_out_users_everywhere"]

    @admin.display(description=_("browser"))
    def browser(self, obj):
        return sessions.describe_browser(obj.user_agent)

    def has_add_permission(self, request):
        return False  # rows come from real sign-ins only

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a row would not end the session: use the action

    @admin.action(description=_("Sign the selected sessions' users out everywhere"))
    def sign_out_users_everywhere(self, request, queryset):
        users = {row.user for row in queryset.select_related("user")}
        for user in users:
            sessions.user_sign_out_everywhere(user=user, by=request.user, request=request)
        count = len(users)
        self.message_user(
            request,
            ngettext("%(count)d user signed out everywhere.", "%(count)d users signed out everywhere.", count)
            % {"count": count},
            messages.SUCCESS,
        )
