"""One error envelope for the whole API: {"error": {"code", "message", "details"}}.

Domain code raises the exceptions below; `api_exception_handler` (DRF) and
`json_error_response` (plain Django views, 404/500 handlers) render them.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions as drf
from rest_framework.response import Response

log = logging.getLogger("contorl.errors")


class DomainError(Exception):
    """A refusal the user can act on. Subclasses pick the code and status."""

    code = "bad_request"
    status = 400
    default_message = gettext_lazy("The request could not be completed.")

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.message = str(message or self.default_message)
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code, status, default_message = "validation_error", 400, gettext_lazy("Invalid input.")

    @classmethod
    def field(cls, name: str, message: str) -> "ValidationFailed":
        return cls(message, details={name: [message]})


class NotFound(DomainError):
    code, status, default_message = "not_found", 404, gettext_lazy("Not found.")


class Forbidden(DomainError):
    code, status, default_message = "permission_denied", 403, gettext_lazy("You do not have permission to do this.")


class Conflict(DomainError):
    code, status, default_message = "conflict", 409, gettext_lazy("The request conflicts with the current state.")


class VersionConflict(Conflict):
    code, default_message = "version_conflict", gettext_lazy("Someone else changed this first. Reload and try again.")

    def __init__(self, *, instance, your_version: int, current_version: int | None, current_data=None):
        self.instance = instance  # the current row, so the caller can render it
        self.your_version = your_version
        self.current_version = current_version
        self.current_data = current_data
        super().__init__(details={"your_version": your_version, "current_version": current_version})

    def render_details(self) -> dict:
        return {**self.details, "current": self.current_data}


class HasBlockers(Conflict):
    code, default_message = "has_blockers", gettext_lazy("Other live tasks depend on this one.")


class DependencyCycle(DomainError):
    code, default_message = "dependency_cycle", gettext_lazy("This dependency would create a cycle.")


class FormulaCycle(DomainError):
    code, default_message = "formula_cycle", gettext_lazy("These formulas refer to each other in a cycle.")


class EditWindowClosed(DomainError):
    code, status, default_message = (
        "edit_window_closed",
        403,
        gettext_lazy("Messages can only be edited for 15 minutes."),
    )


class PayloadTooLarge(DomainError):
    code, status, default_message = "payload_too_large", 413, gettext_lazy("The payload is too large.")


class RateLimited(DomainError):
    code, status, default_message = "rate_limited", 429, gettext_lazy("Too many requests. Slow down.")

    def __init__(self, retry_after: int, message: str | None = None):
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, details={"retry_after": self.retry_after})


class ServiceUnavailable(DomainError):
    code, status, default_message = (
        "service_unavailable",
        503,
        gettext_lazy("A backing service is unavailable; try again."),
    )


def envelope(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _validation_details(detail) -> dict:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def _flatten(value):
    if isinstance(value, dict):
        return {k: _flatten(v) for k, v in value.items()}
    if isinstance(value, list):
        if all(not isinstance(v, (list, dict)) for v in value):
            return [str(v) for v in value]
        return [_flatten(v) for v in value]
    return [str(value)]


def _first_message(details: dict) -> str:
    for field, messages in details.items():
        while isinstance(messages, (list, dict)) and messages:
            messages = messages[0] if isinstance(messages, list) else next(iter(messages.values()))
        if messages:
            return f"{field}: {messages}" if field != "non_field_errors" else str(messages)
    return _("Invalid input.")


_DRF_CODES = {
    drf.NotAuthenticated: ("not_authenticated", 401),
    drf.AuthenticationFailed: ("not_authenticated", 401),
    drf.PermissionDenied: ("permission_denied", 403),
    drf.NotFound: ("not_found", 404),
    drf.MethodNotAllowed: ("method_not_allowed", 405),
    drf.NotAcceptable: ("not_acceptable", 406),
    drf.UnsupportedMediaType: ("unsupported_media_type", 415),
    drf.Throttled: ("rate_limited", 429),
}


def _auth_message(exc: drf.APIException) -> str:
    """A sentence for a 401. simplejwt puts a dict (detail, code, per-token-class messages) in
    `detail` for a bad access token, whose str() is a Python repr; and its wording ("Given token
    not valid for any token type") means nothing to a person, so any invalid or expired token
    gets one plain message. Other refusals (signed out, inactive user) keep their own text."""
    detail = exc.detail
    code = detail.get("code") if isinstance(detail, dict) else getattr(detail, "code", None)
    if code == "token_not_valid":
        return _("Your sign-in has expired or is not valid. Sign in again.")
    if isinstance(detail, dict):
        detail = detail.get("detail") or _("Authentication failed.")
    return str(detail)


def to_envelope(exc: Exception) -> tuple[int, dict, dict]:
    """Map any exception to (status, body, headers)."""
    headers: dict = {}
    if isinstance(exc, DomainError):
        details = exc.render_details() if isinstance(exc, VersionConflict) else exc.details
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return exc.status, envelope(exc.code, exc.message, details), headers
    if isinstance(exc, Http404):
        return 404, envelope("not_found", _("Not found.")), headers
    if isinstance(exc, DjangoPermissionDenied):
        return 403, envelope("permission_denied", _("You do not have permission to do this.")), headers
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return 400, envelope("validation_error", _first_message(details), details), headers
    if isinstance(exc, RequestDataTooBig):
        return 413, envelope("payload_too_large", _("The request body is too large.")), headers
    if isinstance(exc, drf.ParseError):
        msg = _("Malformed request body: %(detail)s") % {"detail": exc.detail}
        return 400, envelope("validation_error", msg, {"body": [str(exc.detail)]}), headers
    if isinstance(exc, drf.ValidationError):
        details = _validation_details(exc.detail)
        return 400, envelope("validation_error", _first_message(details), details), headers
    if isinstance(exc, drf.APIException):
        code, status = next(
            ((c, s) for cls, (c, s) in _DRF_CODES.items() if isinstance(exc, cls)),
            (exc.default_code if isinstance(exc.default_code, str) else "error", exc.status_code),
        )
        if isinstance(exc, drf.Throttled) and exc.wait:
            headers["Retry-After"] = str(int(exc.wait) or 1)
        if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
            headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return status, envelope(code, _auth_message(exc)), headers
        return status, envelope(code, str(exc.detail)), headers
    if isinstance(exc, (OperationalError, InterfaceError)):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return (
            503,
            envelope("service_unavailable", _("The database is unavailable; try again shortly.")),
            {"Retry-After": "5"},
        )
    if isinstance(exc, (ProtectedError, RestrictedError)):
        # A delete refused by on_delete=PROTECT/RESTRICT is the caller's conflict, not a crash.
        return 409, envelope("conflict", _("Other records still refer to this one; remove them first.")), headers
    if isinstance(exc, DatabaseError):
        log.exception("database error")
        return 500, envelope("server_error", _("A server error occurred.")), headers
    log.exception("unhandled error", exc_info=exc)
    return 500, envelope("server_error", _("A server error occurred.")), headers


def api_exception_handler(exc, context):
    if isinstance(exc, VersionConflict) and exc.current_data is None and exc.instance is not None:
        view = context.get("view")
        if view is not None and hasattr(view, "get_serializer"):
            exc.current_data = view.get_serializer(exc.instance).data
    status, body, headers = to_envelope(exc)
    # A failed write must leave the database as it was: roll back the request's atomic block.
    from rest_framework.views import set_rollback

    set_rollback()
    return Response(body, status=status, headers=headers)


def json_error_response(exc: Exception) -> JsonResponse:
    status, body, headers = to_envelope(exc)
    response = JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
    for key, value in headers.items():
        response[key] = value
    return response
