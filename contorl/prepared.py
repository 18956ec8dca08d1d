"""Hot lookups compiled once (bench/PROFILE.md, eighth session).

Django compiles a queryset into SQL afresh every time it runs. For the task a PATCH reads (its
project, assignee, subtask count and the caller's role, in one statement) the compiling took
more of daphne's time than the whole write. A PreparedLookup builds its queryset once per
database, with stand-in values for what changes from call to call, keeps the SQL and the
compiler's row layout, and from then on only executes: the same statement through the same
cursor wrapper (query counts and metrics see it), the same model instances as the queryset.
"""

import inspect
from collections.abc import Callable
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators, prefetch_related_objects

# Stand-ins: plain integers in every backend's range (Django turns an out-of-range integer
# lookup into "no rows" at compile time) that no constant of a query will equal.
_STAND_IN_BASE = -1_999_999_000


def whole_id(value) -> int | None:
    """`value` (a URL segment, a token claim) as an id a prepared lookup may take as it stands:
    a whole number of up to 18 digits, else None. Prepared parameters skip Django's field
    conversion, so nothing else may reach them ("1.5", "-1", a 30-digit number)."""
    text = str(value)
    return int(text) if text.isdigit() and len(text) <= 18 else None


def numbered(prefix: str, values) -> dict:
    """{"prefix_0": first value, "prefix_1": second, ...}: the arguments of a lookup built per
    list length (`names=tuple(numbered("user", range(n)))`, then `**numbered("user", ids)`)."""
    return {f"{prefix}_{i}": value for i, value in enumerate(values)}


class _Plan(NamedTuple):
    sql: str
    params: list
    slots: list[tuple[int, str]]  # (position in params, argument name)
    compiler: object
    converters: dict
    model: type[Model]
    init_list: list[str]
    model_fields: slice
    related_populators: list
    annotation_col_map: dict
    prefetches: tuple


class PreparedLookup:
    """`PreparedLookup(lambda pk, user_id: Task.objects.filter(pk=pk, ...))`, then
    `lookup(pk=5, user_id=3)` -> the list of model instances that queryset gives for those values.

    The builder's arguments are the values that change; each must be used as a query parameter
    (a filter value), never to choose the query's shape, since the shape is built once. They
    are integers, or strings where named in `text`: what the builder gets at compile time are
    stand-ins of that type.
    """

    def __init__(
        self,
        build: Callable[..., QuerySet],
        *,
        names: tuple[str, ...] | None = None,
        text: tuple[str, ...] = (),
        attach: dict[str, "PreparedLookup"] | None = None,
    ):
        """`names`: the builder's arguments when it takes **kwargs (a lookup per list length:
        `user_id__in` with three stand-ins is one shape); `text`: those of them that are
        strings, not integers. `attach`: {attribute: a prepared lookup of one argument}, run for
        each row with the row's pk, its list set on the row: a prefetch to an attribute
        (Prefetch's to_attr) for a lookup of a row or two, without compiling it each time."""
        self.build = build
        self.names = tuple(names) if names is not None else tuple(inspect.signature(build).parameters)
        self.text = frozenset(text)
        self.attach = attach or {}
        self._plans: dict[str, _Plan] = {}

    def __call__(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        if values.keys() != set(self.names):
            raise TypeError(f"expected {', '.join(self.names)}; got {', '.join(values)}")
        plan = self._plans.get(using) or self._prepare(using)
        params = list(plan.params)
        for position, name in plan.slots:
            params[position] = values[name]
        with connections[using].cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        objs = []
        for row in rows:
            obj = plan.model.from_db(using, plan.init_list, row[plan.model_fields])
            for populator in plan.related_populators:
                populator.populate(row, obj)
            for attr, position in plan.annotation_col_map.items():
                setattr(obj, attr, row[position])
            objs.append(obj)
        if plan.prefetches and objs:
            prefetch_related_objects(objs, *plan.prefetches)
        for attr, lookup in self.attach.items():
            (name,) = lookup.names
            for obj in objs:
                setattr(obj, attr, lookup(using=using, **{name: obj.pk}))
        return objs

    def _prepare(self, using: str) -> _Plan:
        stand_ins = {
            name: f"\x00prepared:{name}" if name in self.text else _STAND_IN_BASE - i
            for i, name in enumerate(self.names)
        }
        queryset = self.build(**stand_ins).using(using)
        plain = queryset._iterable_class is ModelIterable and queryset._fields is None
        if not plain or queryset._known_related_objects:
            raise ValueError("a prepared lookup gives model instances of a plain queryset")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if compiler.has_extra_select:
            raise ValueError("a prepared lookup cannot order by what it does not select: add .order_by() or select it")
        by_value = {value: name for name, value in stand_ins.items()}
        slots = [(i, by_value[p]) for i, p in enumerate(params) if isinstance(p, int | str) and p in by_value]
        unused = set(self.names) - {name for _i, name in slots}
        if unused:
            raise ValueError(f"the builder does not use {', '.join(sorted(unused))} as a query parameter")
        klass_info, select = compiler.klass_info, compiler.select
        fields = klass_info["select_fields"]
        model_fields = slice(fields[0], fields[-1] + 1)
        plan = _Plan(
            sql=sql,
            params=list(params),
            slots=slots,
            compiler=compiler,
            converters=compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
            model=klass_info["model"],
            init_list=[f[0].target.attname for f in select[model_fields]],
            model_fields=model_fields,
            related_populators=get_related_populators(klass_info, select, using),
            annotation_col_map=dict(compiler.annotation_col_map or {}),
            prefetches=tuple(queryset._prefetch_related_lookups),
        )
        self._plans[using] = plan
        return plan
