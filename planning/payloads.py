"""One representation per planning model, used by the API responses and the project events.

Foreign keys are ids, dates ISO strings, hours and money decimal strings ("7.50"), so
clients never see binary floating point in costs.
"""

import datetime
from decimal import Decimal

from django.db import models

from .models import (
    Actual,
    Portfolio,
    Program,
    ProjectLink,
    ProjectPhase,
    Rate,
    ResourceAssignment,
    ScopeAssignment,
    Worker,
    WorkerException,
    WorkerType,
)

_HIDDEN = {"deleted_by", "created_by", "granted_by"}


def _value(value):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _fields(obj) -> dict:
    data = {"id": obj.pk}
    for field in obj._meta.concrete_fields:
        if field.primary_key or field.name in _HIDDEN:
            continue
        data[field.name] = _value(getattr(obj, field.attname))
    return data


def _converter(field):
    if isinstance(field, models.DecimalField):
        return lambda v: None if v is None else f"{v:.2f}"
    if isinstance(field, models.DateTimeField):
        return lambda v: None if v is None else v.isoformat().replace("+00:00", "Z")
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else v.isoformat()
    return None


class Columns:
    """payload() straight from database rows, for the lists: reading a page of 500 into model
    instances first cost as much as the rest of the request. Only for models whose payload is
    their fields (Worker and ScopeAssignment add properties)."""

    def __init__(self, model):
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.name not in _HIDDEN]
        self.attnames = ("pk", *(f.attname for f in fields))
        self._keys = ("id", *(f.name for f in fields))
        self._convert = [(i, c) for i, f in enumerate(fields, start=1) if (c := _converter(f)) is not None]

    def payload(self, row: tuple) -> dict:
        values = list(row)
        for i, convert in self._convert:
            values[i] = convert(values[i])
        return dict(zip(self._keys, values, strict=True))


_columns: dict = {}


def columns(model) -> Columns | None:
    """The Columns of `model`, or None where payload() needs the instance."""
    if model in (Worker, ScopeAssignment):
        return None
    if model not in _columns:
        _columns[model] = Columns(model)
    return _columns[model]


def payload(obj) -> dict:
    data = _fields(obj)
    if isinstance(obj, Worker):
        data["is_external"] = obj.is_external
    elif isinstance(obj, ScopeAssignment):
        data["scope_type"] = obj.scope_type
        data["scope_id"] = obj.scope_id
    return data


ENTITY_NAMES = {
    Portfolio: "portfolio",
    Program: "program",
    ProjectLink: "project_link",
    ProjectPhase: "phase",
    WorkerType: "worker_type",
    Rate: "rate",
    Worker: "worker",
    WorkerException: "worker_exception",
    ResourceAssignment: "assignment",
    Actual: "actual",
    ScopeAssignment: "scope_assignment",
}
