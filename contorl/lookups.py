"""The one way a view turns a URL id into an object the user may see."""

from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet

from .errors import NotFound
from .prepared import PreparedLookup, whole_id

M = TypeVar("M", bound=Model)


def visible_or_404(
    source: QuerySet[M] | PreparedLookup, pk, *, may_see: Callable[[M], bool] | None = None, **values
) -> M:
    """The row `pk` of `source`, or 404 when it is missing or `may_see(row)` is false.

    `source` is a queryset, or a prepared lookup called with `pk` and `values` (a hot path's
    lookup, compiled once). Missing and hidden answer alike, so an id never tells whether it
    exists; a malformed id ("abc", "1.5") is missing too, not a 500.
    """
    if isinstance(source, PreparedLookup):
        whole = whole_id(pk)
        found = source(pk=whole, **values) if whole is not None else []
        obj = found[0] if found else None
    else:
        try:
            # No ORDER BY for a lookup by pk (first() would add one): ordering makes Django hash
            # every selected column's expression, a millisecond for a task with its related rows.
            obj = next(iter(source.filter(pk=pk).order_by()[:1]), None)
        except (ValueError, TypeError, DjangoValidationError):
            obj = None
    if obj is None or (may_see is not None and not may_see(obj)):
        raise NotFound()
    return obj
