"""The one way a view turns a URL id into an object the user may see."""

from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model, QuerySet

from .errors import NotFound

M = TypeVar("M", bound=Model)


def visible_or_404(queryset: QuerySet[M], pk, *, may_see: Callable[[M], bool] | None = None) -> M:
    """The row `pk` of `queryset`, or 404 when it is missing or `may_see(row)` is false.

    Missing and hidden answer alike, so an id never tells whether it exists.
    """
    obj = queryset.filter(pk=pk).first()
    if obj is None or (may_see is not None and not may_see(obj)):
        raise NotFound()
    return obj
