from rest_framework.permissions import BasePermission


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_admin)


class IsSystemAdmin(BasePermission):
    message = "Only system administrators may do this."

    def has_permission(self, request, view):
        return is_admin(request.user)
