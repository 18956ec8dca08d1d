"""What every operation of the OpenAPI schema shares, documented in one place.

- `add_error_responses` (a drf-spectacular postprocessing hook): the contract's error
  envelope for 400/401/403/404/409/429 on every operation (413/415 where a body is sent),
  429 with its Retry-After header. Views document their 2xx answers only.
- `require_version_on_updates` (another hook): PATCH/PUT bodies must carry `version`.
- `AutoSchema`: pagination is documented where the API pages, i.e. on `list` actions;
  extra actions that page say so with `paginated(...)`. Filter parameters allow an empty
  value, which django-filter reads as "no filter".
- `document_output(...)`: serializers that validate input but render a selector payload
  document that payload as their response.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

ERROR_COMPONENT = "ErrorEnvelope"
ERROR_ENVELOPE = {
    "type": "object",
    "description": 'Every 4xx/5xx answer of the API: {"error": {"code", "message", "details"}}.',
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "snake_case, stable; e.g. validation_error"},
                "message": {"type": "string", "description": "human text in the caller's language"},
                "details": {"type": "object", "additionalProperties": {}},
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}
# status -> description; on every operation.
ERROR_RESPONSES = {
    "400": "Invalid input (validation_error, dependency_cycle, formula_cycle, ...).",
    "401": "Not signed in (not_authenticated).",
    "403": "Signed in but not allowed (permission_denied, edit_window_closed).",
    "404": "No such object, or one the caller may not see (not_found).",
    "409": "Conflict with the current state (version_conflict, has_blockers, conflict).",
    "429": "Rate limited (rate_limited); retry after Retry-After seconds.",
}
# Only where a request body is sent.
BODY_ERROR_RESPONSES = {
    "413": "The body or a field of it is too large (payload_too_large).",
    "415": "The body's media type is not accepted (unsupported_media_type).",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def add_error_responses(result, generator, request, public):
    """Postprocessing hook: the error envelope on every operation that does not document its own."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_ENVELOPE
    ref = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            codes = dict(ERROR_RESPONSES)
            if "requestBody" in operation:
                codes.update(BODY_ERROR_RESPONSES)
            responses = operation.setdefault("responses", {})
            for code, description in codes.items():
                if code in responses:
                    continue
                response = {"description": description, "content": {"application/json": {"schema": ref}}}
                if code == "429":
                    response["headers"] = RETRY_AFTER
                responses[code] = response
    return result


VERSION_REQUIRED = {
    "type": "object",
    "properties": {
        "version": {
            "type": "integer",
            "minimum": 1,
            "description": "The version the change is based on; a stale one is 409 version_conflict.",
        }
    },
    "required": ["version"],
}


def require_version_on_updates(result, generator, request, public):
    """Postprocessing hook: every PATCH/PUT body carries `version` (optimistic locking,
    contorl/versioning.py). Said per operation, as POST bodies share the same components."""
    for item in result.get("paths", {}).values():
        for method in ("patch", "put"):
            content = item.get(method, {}).get("requestBody", {}).get("content", {})
            for media in content.values():
                if "schema" in media:
                    media["schema"] = {"allOf": [media["schema"], VERSION_REQUIRED]}
    return result


class AutoSchema(SpectacularAutoSchema):
    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        # A user's e-mail address may be blank; a read-only model field no longer says so
        # (spectacular adds the blank option for writable allow_blank fields itself).
        if field.read_only and schema.get("format") == "email":
            del schema["format"]
            schema["oneOf"] = [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}]

    def _get_request_for_media_type(self, serializer, direction="request"):
        # spectacular documents every PATCH body as partial; a PATCH that validates its whole
        # body says so with `request=TheSerializer(partial=False)`.
        if self.method == "PATCH" and getattr(serializer, "_kwargs", {}).get("partial") is False:
            self.method = "PUT"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def _get_filter_parameters(self):
        # django-filter reads an empty value (`?to_date=`) as "no filter": say so, or a date or
        # integer filter would be documented as refusing what it serves.
        parameters = super()._get_filter_parameters()
        for parameter in parameters:
            if parameter.get("in") == "query":
                parameter["allowEmptyValue"] = True
        return parameters

    def _get_paginator(self):
        # A viewset pages its `list` only; other actions answering a list answer a plain array
        # unless they document `paginated(...)` themselves.
        action = getattr(self.view, "action", None)
        if action is not None and action != "list":
            return None
        return super()._get_paginator()


def paginated(child: type[serializers.Serializer], name: str | None = None):
    """The page envelope of contorl.pagination.StandardPagination around `child` items."""
    return inline_serializer(
        name=name or f"Paginated{child.__name__.removesuffix('Out')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": child(many=True),
        },
    )


def document_output(target: str, output: type[serializers.Serializer]) -> type[OpenApiSerializerExtension]:
    """Document `output` as the response of the serializer at dotted path `target`
    (one whose to_representation renders a payload of its own); requests keep `target`."""

    class Extension(OpenApiSerializerExtension):
        target_class = target

        def get_name(self, auto_schema, direction):
            return output.__name__.removesuffix("Out") if direction == "response" else None

        def map_serializer(self, auto_schema, direction):
            if direction == "response":
                return auto_schema._map_serializer(output, direction)
            return auto_schema._map_serializer(self.target, direction, bypass_extensions=True)

    Extension.__name__ = Extension.__qualname__ = f"{output.__name__}Extension"
    return Extension


class UserBriefOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
