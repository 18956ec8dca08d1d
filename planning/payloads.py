"""One representation per planning model, used by the API responses and the project events.

Foreign keys are ids, dates ISO strings, hours and money decimal strings ("7.50"), so
clients never see binary floating point in costs.
"""

import datetime
from decimal import Decimal

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
