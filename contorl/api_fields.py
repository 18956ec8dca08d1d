"""The API reads values the way its schema documents them, in JSON and form bodies alike.

DRF's fields follow HTML-form and JavaScript habits that the OpenAPI schema does not state:

- a yes/no field missing from a form or multipart body is an unticked checkbox, i.e. False
  (a form PATCH of `version` alone revoked system admin): here it is a field not given, so a
  required one is a 400 and an optional one keeps its default, or its value on a PATCH;
- a yes/no field takes 1, 0, "yes", "on" ...: here JSON true/false, or "true"/"false" in a form;
- a text field takes a JSON number and stores its digits ("title": 5.5 became "5.5"): here only
  strings;
- an empty form value of an optional field counts as not given: here it is the value "",
  refused like "" in JSON unless the field may be blank (an empty value of a field that may
  be null is still null, the only way a form can say it).

`install()` applies this to DRF's field classes once at start-up (contorl/apps.py), so every
serializer, hand-written or generated from a model, reads input the same way.
"""

import copy

from rest_framework import fields
from rest_framework.utils import html

_INSTALLED = "_contorl_api_fields"


def install() -> None:
    if getattr(fields.Field, _INSTALLED, False):
        return
    fields.BooleanField.default_empty_html = fields.empty
    fields.BooleanField.to_internal_value = _strict_boolean
    fields.CharField.to_internal_value = _text_only(fields.CharField.to_internal_value)
    fields.Field.get_value = _blank_is_given(fields.Field.get_value)
    setattr(fields.Field, _INSTALLED, True)


def _strict_boolean(self, data):
    if isinstance(data, bool):
        return data
    if isinstance(data, str) and data.lower() in ("true", "false"):
        return data.lower() == "true"
    self.fail("invalid", input=data)


def _text_only(to_internal_value):
    def strict(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return to_internal_value(self, data)

    return strict


def _blank_is_given(get_value):
    def get(self, dictionary):
        value = get_value(self, dictionary)
        if value is fields.empty and html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""  # validated like "" in JSON: refused unless the field may be blank
        return value

    return get


class GivenFieldsOnly:
    """For a serializer of partial updates: copy and bind only the declared fields a JSON body
    names. DRF deep-copies every declared field for each request (for a task PATCH of a title,
    14 fields: a tenth of the request's Python calls, bench/PROFILE.md, tenth session), and in
    a partial update a field not given is skipped anyway. Form bodies, whose nested keys look
    like `custom_fields.x`, and full updates keep DRF's way."""

    def get_fields(self):
        data = getattr(self, "initial_data", None)
        if not self.partial or type(data) is not dict:
            return super().get_fields()
        return {name: copy.deepcopy(field) for name, field in self._declared_fields.items() if name in data}
