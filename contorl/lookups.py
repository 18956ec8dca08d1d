"""The one way a view turns a URL id into an object the user may see."""

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet

from .errors import NotFound

M = TypeVar("M", bound=Model)


def visible_or_404(queryset: QuerySet[M], pk, *, may_see: Callable[[M], bool] | None = None) -> M:
    """The row `pk` of `queryset`, or 404 when it is missing or `may_see(row)` is false.

    Missing and hidden answer alike, so an id never tells whether it exists; a malformed id
    ("abc", "1.5") is missing too, not a 500.
    """
    try:
        # No ORDER BY for a lookup by pk (first() would add one): ordering makes Django hash
        # every selected column's expression, a millisecond for a task with its related rows.
        obj = next(iter(queryset.filter(pk=pk).order_by()[:1]), None)
    except (ValueError, TypeError, DjangoValidationError):
        obj = None
    if obj is None or (may_see is not None and not may_see(obj)):
        raise NotFound()
    return obj
