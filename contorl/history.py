"""django-simple-history, with its history manager class built once.

simple_history's descriptor builds `HistoryManager.from_queryset(HistoricalQuerySet)` on every
access to `<model>.history` or `<instance>.history`: a new class each time, made by walking
every QuerySet method with `inspect`. Each versioned write reaches it once to record its
history row (about 250 µs of a task PATCH, bench/PROFILE.md, seventh session). History rows
are inserted by a statement built once (contorl.prepared_writes).
"""

import functools

from simple_history import manager, models

from .prepared_writes import PreparedInsert


class HistoryManager(manager.HistoryManager):
    @classmethod
    @functools.cache
    def from_queryset(cls, queryset_class, class_name=None):
        return super().from_queryset(queryset_class, class_name)


class HistoricalRecords(models.HistoricalRecords):
    def __init__(self, *args, history_manager=HistoryManager, bases=(PreparedInsert,), **kwargs):
        super().__init__(*args, history_manager=history_manager, bases=bases, **kwargs)
