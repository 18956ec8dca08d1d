"""Hot writes compiled once (bench/PROFILE.md, tenth session).

A task PATCH writes three rows: the versioned UPDATE of the task, its history row and its
audit row. Django builds a query object and compiles it into SQL for each of them on every
write, and that was a quarter of the PATCH's Python calls. What changes from one write to the
next is only the values, so the statements here are built once per model, set of columns and
database, and each write only converts its values (the same `get_db_prep_save` Django applies)
and executes, through the same cursor wrapper (query counts and metrics see it).

Anything out of the ordinary (an expression as a value, a field with its own placeholder, a
field of a parent model) takes Django's own path, so the result is the same either way.
"""

from django.db import connections, models, transaction
from django.db.models.sql import InsertQuery

_INSERTS: dict[tuple, "_Insert | None"] = {}
_UPDATES: dict[tuple, str | None] = {}


class _Insert:
    __slots__ = ("sql", "returning_params", "returning", "compiler", "converters", "last_id")

    def __init__(self, sql, returning_params, returning, compiler, converters, last_id):
        self.sql = sql
        self.returning_params = returning_params
        self.returning = returning  # fetch the RETURNING clause's columns
        self.compiler = compiler
        self.converters = converters
        self.last_id = last_id  # (table, column) to ask the backend for the new id, or None


def _plain(fields) -> bool:
    return not any(hasattr(f, "get_placeholder") for f in fields)


def _insert_plan(model, using: str, fields: tuple, returning_fields: tuple, raw: bool) -> "_Insert | None":
    """What SQLInsertCompiler.as_sql/execute_sql would do for one row of `model`, worked out once.
    None when the statement could depend on the values (Django's path then handles it)."""
    connection = connections[using]
    if not fields or not _plain(fields) or connection.ops.modify_insert_params("%s", [0]) != [0]:
        return None
    compiler = InsertQuery(model).get_compiler(using=using)  # for the returned columns' converters
    qn = connection.ops.quote_name
    head = f"{connection.ops.insert_statement()} {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
    values = f"VALUES ({', '.join(['%s'] * len(fields))})"
    opts = model._meta
    if returning_fields and connection.features.can_return_columns_from_insert:
        r_sql, returning_params = connection.ops.return_insert_columns(list(returning_fields))
        sql = " ".join(part for part in (head, values, r_sql) if part)
        cols = [f.get_col(opts.db_table) for f in returning_fields]
        return _Insert(sql, tuple(returning_params), True, compiler, compiler.get_converters(cols), None)
    if returning_fields and isinstance(returning_fields[0], models.AutoField):
        field = returning_fields[0]
        cols = [field.get_col(opts.db_table)]
        return _Insert(
            f"{head} {values}", (), False, compiler, compiler.get_converters(cols), (opts.db_table, field.column)
        )
    if returning_fields:
        return None
    return _Insert(f"{head} {values}", (), False, compiler, {}, None)


class PreparedInsert(models.Model):
    """A model whose new rows are inserted by a statement built once (save() and create() keep
    everything else: signals, pre_save() of each field, the returned primary key)."""

    class Meta:
        abstract = True

    def _do_insert(self, manager, using, fields, returning_fields, raw):
        # The table is the manager's model's: a parent's row (multi-table inheritance) is
        # inserted through the parent's manager with the parent's fields.
        key = (manager.model, using, tuple(fields), tuple(returning_fields or ()), raw)
        try:
            plan = _INSERTS[key]
        except KeyError:
            plan = _INSERTS[key] = _insert_plan(*key)
        if plan is None:
            return super()._do_insert(manager, using, fields, returning_fields, raw)
        connection = connections[using]
        params = []
        for field in fields:
            value = getattr(self, field.attname) if raw else field.pre_save(self, True)
            if hasattr(value, "resolve_expression"):
                return super()._do_insert(manager, using, fields, returning_fields, raw)
            params.append(field.get_db_prep_save(value, connection=connection))
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, (*params, *plan.returning_params))
            if not returning_fields:
                return []
            if plan.returning:
                rows = [connection.ops.fetch_returned_insert_columns(cursor, plan.returning_params)]
            else:
                rows = [(connection.ops.last_insert_id(cursor, *plan.last_id),)]
        if plan.converters:
            rows = plan.compiler.apply_converters(rows, plan.converters)
        return list(rows)


def _update_sql(model, names: tuple, using: str) -> str | None:
    """UPDATE <table> SET <names...>, version = version + 1 WHERE pk = %s AND version = %s;
    None when a name is not a plain column of the model's own table."""
    opts = model._meta
    fields = []
    for name in names:
        field = opts.get_field(name)
        if not field.concrete or field.many_to_many or field.primary_key or field.model is not model:
            return None
        fields.append(field)
    if not _plain(fields):
        return None
    qn = connections[using].ops.quote_name
    table, version = qn(opts.db_table), qn(opts.get_field("version").column)
    sets = [f"{qn(f.column)} = %s" for f in fields]
    sets.append(f"{version} = ({table}.{version} + 1)")
    where = f"({table}.{qn(opts.pk.column)} = %s AND {table}.{version} = %s)"
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {where}"  # noqa: S608 (names from model meta)


def compare_and_set(model, *, pk, version: int, values: dict, using: str) -> int:
    """`model._base_manager.filter(pk=pk, version=version).update(version=F("version") + 1,
    **values)`, the statement built once per model and set of columns: the rows matched (0 or 1)."""
    key = (model, tuple(values), using)
    try:
        sql = _UPDATES[key]
    except KeyError:
        sql = _UPDATES[key] = _update_sql(model, key[1], using)
    connection = connections[using]
    params = []
    if sql is not None:
        opts = model._meta
        for name, value in values.items():
            field = opts.get_field(name)
            if hasattr(value, "resolve_expression"):
                sql = None
                break
            if hasattr(value, "prepare_database_save"):
                if not field.remote_field:
                    raise TypeError(f"Tried to update field {field} with a model instance, {value!r}.")
                value = value.prepare_database_save(field)
            params.append(field.get_db_prep_save(value, connection=connection))
    if sql is None:
        return (
            model._base_manager.using(using)
            .filter(pk=pk, version=version)
            .update(version=models.F("version") + 1, **values)
        )
    params += [model._meta.pk.get_db_prep_value(pk, connection), version]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
