"""What every viewset of the tasks API shares: the base class and request parsing."""

from rest_framework import viewsets

from contorl import ratelimits
from contorl.errors import ValidationFailed

from .. import permissions


class Base(ratelimits.RateLimitedViewMixin, viewsets.GenericViewSet):
    rate_tier = ratelimits.STANDARD
    lookup_value_regex = r"\d{1,18}"  # ids only: "abc" or a 40-digit id is a plain 404

    def in_visible_project(self, obj) -> bool:
        """`may_see` of a row that belongs to a project: whoever may see the project."""
        return permissions.can_view_project(self.request.user, obj.project)

    def in_visible_task(self, obj) -> bool:
        """`may_see` of a row that belongs to a task: whoever may see the task."""
        return permissions.can_view_task(self.request.user, obj.task)


def int_param(request, name):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "A valid integer is required.") from None
    if not 0 < value <= 2**63 - 1:
        raise ValidationFailed.field(name, "A valid id is required.")
    return value


def bool_param(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no", ""):
        return value.lower() in ("true", "1", "yes")
    if value is None:
        return False
    raise ValidationFailed("Expected a boolean.", details={"value": ["Must be a valid boolean."]})


def json_body(request) -> dict:
    if not isinstance(request.data, dict) and not hasattr(request.data, "getlist"):
        raise ValidationFailed("Expected a JSON object.", details={"body": ["Expected a JSON object."]})
    return request.data


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
