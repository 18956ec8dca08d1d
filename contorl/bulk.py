"""Bulk writes with partial success: every item in its own savepoint, so a stale, invalid or
forbidden item fails alone and never undoes the others (tasks and planning bulk updates)."""

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from fast_update.query import FastUpdateQuerySet

from . import events
from .errors import Conflict, DomainError, PayloadTooLarge, ValidationFailed
from .versioning import require_version

Row = TypeVar("Row")

_in_item = contextvars.ContextVar("contorl_bulk_in_item", default=False)


def update_columns(model, rows, fields) -> int:
    """Write `fields` of every instance in `rows` in one UPDATE ... FROM (VALUES ...).

    Django's bulk_update builds a CASE expression per column and row and resolves each one: for
    100 rows it took longer than the rest of a bulk move together (bench/PROFILE.md). No
    manager filter applies (soft-deleted rows are written too), as with bulk_update.
    """
    return FastUpdateQuerySet(model=model).fast_update(rows, fields, unfiltered=True)


def item_savepoint_needed() -> bool:
    """False while an item of update_each() runs: its own savepoint already undoes the item
    on any error, so a service's inner `atomic()` around one statement may skip its savepoint
    (`atomic(savepoint=item_savepoint_needed())`: two statements fewer per item)."""
    return not _in_item.get()


def update_each(
    items: Any,
    *,
    max_items: int,
    id_required: str,
    load: Callable[[int], Row],
    write: Callable[[Row, int, dict], Row],
    failure: Callable[[Any, DomainError, Row | None], dict],
    prefetch: Callable[[list[int]], None] | None = None,
) -> dict:
    """Compare-and-set every `{"id", "version", ...fields}` item of `items`.

    `load(id)` returns the row the caller may change (raising NotFound / Forbidden);
    `write(row, version, item)` parses the item and writes it with that version; both raise
    DomainError to fail the item. `failure(raw_id, error, row or None)` shapes one failed
    entry; `id_required` is the message for an item without an integer id. `prefetch(ids)`,
    if given, is called once with every well-formed id first, so `load` can read them all in
    one query. The items' events leave after commit in one hand-off (events.batched).
    Returns {"succeeded": [{"id", "version"}], "failed": [failure(...), ...]}.
    Run it inside a transaction: the savepoints are nested in it.
    """
    check_items(items, max_items=max_items)
    if prefetch is not None:
        prefetch(item_ids(items))
    with events.batched():
        succeeded, failed = _each(items, id_required=id_required, load=load, write=write, failure=failure)
    return {"succeeded": succeeded, "failed": failed}


def check_items(items, *, max_items: int) -> None:
    """The body of a bulk update: a list of at most `max_items` JSON objects."""
    if not isinstance(items, list):
        raise ValidationFailed(
            _("Expected a list of {id, version, ...fields}."), details={"body": [_("Expected a list.")]}
        )
    if len(items) > max_items:
        raise PayloadTooLarge(_("At most %(n)s items per request.") % {"n": max_items})
    if not all(isinstance(item, dict) for item in items):
        # A malformed body, not a bad item: the request is refused whole, as the schema says.
        raise ValidationFailed(
            _("Every item must be a JSON object."), details={"body": [_("Every item must be a JSON object.")]}
        )


def item_ids(items: list) -> list[int]:
    """The well-formed ids of the items."""
    return [i["id"] for i in items if isinstance(i, dict) and is_id(i.get("id"))]


def is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _each(items: list, *, id_required: str, load, write, failure) -> tuple[list, list]:
    succeeded, failed = [], []
    for item in items:
        raw_id = item.get("id") if isinstance(item, dict) else None
        row = None
        try:
            if not is_id(raw_id):
                raise ValidationFailed.field("id", id_required)
            with transaction.atomic():
                token = _in_item.set(True)
                try:
                    row = load(raw_id)
                    row = write(row, require_version(item), item)
                finally:
                    _in_item.reset(token)
            succeeded.append({"id": row.pk, "version": row.version})
        except DomainError as exc:
            failed.append(failure(raw_id, exc, row))
        except IntegrityError:
            failed.append(failure(raw_id, Conflict(_("Constraint violated.")), None))
    return succeeded, failed
