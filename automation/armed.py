"""Which projects have triggers that task writes can fire, without a query per write.

Every task write asks (automation.hooks.on_task_history), and almost every project has no
trigger: that query was a tenth of a task PATCH's CPU (bench/PROFILE.md, sixth session). The
shared cache remembers "this project has none", stamped with the project's trigger generation;
every trigger change bumps the generation once it commits, so a stale "none" is never believed.

A reader that raced a change (it read "none" from the database just before the change
committed, and stored it just after the bump) stored it under the old generation, which no
later reader matches. A generation the cache lost (eviction, flush) is started again and
believed from the next read on; a cache that fails means the query, as before.
"""

import logging

from django.core.cache import cache
from django.db import transaction

from .models import Trigger

log = logging.getLogger("contorl.automation")

NONE_TTL = 3600  # seconds a "no trigger" answer is kept; the generation decides whether it holds


def _keys(project_id: int) -> tuple[str, str]:
    return f"automation:gen:{project_id}", f"automation:none:{project_id}"


def active_triggers(project_id: int) -> list[Trigger]:
    """The project's active triggers that task writes fire (not due_soon), in the model's order."""
    gen_key, none_key = _keys(project_id)
    try:
        cached = cache.get_many([gen_key, none_key])
    except Exception as exc:  # noqa: BLE001 (the cache is an optimisation here)
        log.warning("trigger cache unavailable: %s", exc.__class__.__name__)
        cached, gen_key = {}, None
    generation = cached.get(gen_key) if gen_key else None
    if generation is not None and cached.get(none_key) == generation:
        return []
    # Unordered: an ORDER BY makes Django hash every selected column's expression to compile
    # the query; the rare project with triggers sorts them here.
    triggers = list(
        Trigger.objects.filter(project_id=project_id, is_active=True).exclude(event=Trigger.Event.DUE_SOON).order_by()
    )
    triggers.sort(key=lambda t: (t.name, t.pk))
    if gen_key is not None:
        try:
            if generation is None:
                cache.add(gen_key, 0, None)  # believed from the next read on
            elif not triggers:
                cache.set(none_key, generation, NONE_TTL)
        except Exception as exc:  # noqa: BLE001
            log.warning("trigger cache unavailable: %s", exc.__class__.__name__)
    return triggers


def changed(project_id: int) -> None:
    """A trigger of the project changed: stop believing "none" now (the writer's own transaction
    reads its new trigger) and again once the change has committed (a reader that read the
    database before the commit may have stored "none" since the first bump)."""
    _bump(project_id)
    transaction.on_commit(lambda: _bump(project_id))


def _bump(project_id: int) -> None:
    gen_key, none_key = _keys(project_id)
    try:
        try:
            cache.incr(gen_key)
        except ValueError:  # no generation yet (or lost): start one past anything a reader starts
            if not cache.add(gen_key, 1, None):
                cache.incr(gen_key)  # a reader started it meanwhile
        cache.delete(none_key)
    except Exception as exc:  # noqa: BLE001
        # A "none" may now outlive its truth by up to NONE_TTL: say so loudly.
        log.error("trigger cache not updated after a trigger change: %s", exc.__class__.__name__)


def on_trigger_saved(sender, instance, **kwargs) -> None:
    changed(instance.project_id)


def on_trigger_deleted(sender, instance, **kwargs) -> None:
    changed(instance.project_id)
