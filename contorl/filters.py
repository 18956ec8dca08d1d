"""django-filter, with a yes/no filter that refuses what it cannot read.

django-filter's BooleanFilter reads `?external=maybe` as "no filter" and serves the whole
list; every other filter type answers an unreadable value with 400 validation_error, and the
schema documents these parameters as booleans. Here `true`/`false` (also `True`, `1`, `0`)
filter, an empty value is no filter, anything else is 400.

`FilterBackend` (settings.REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS) builds the filter sets of
`filterset_fields` on `FilterSet`, so model boolean fields get this filter too; hand-written
filter sets subclass `FilterSet` and declare `BooleanFilter`, and `IdFilter` for an id
filtered through a join.
"""

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field

_TRUE, _FALSE = {"true", "1"}, {"false", "0"}


class StrictNullBooleanField(forms.NullBooleanField):
    widget = forms.TextInput  # the raw query value, not NullBooleanSelect's mapping to None
    default_error_messages = {"invalid": _("Use true or false.")}

    def to_python(self, value):
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """An object id given as a number, not a model choice (`?portfolio=` through a join): a
    whole number from 1 to the database's largest integer. NumberFilter reads decimals, so
    `?portfolio=-9e185` reached SQLite and failed there (500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class FilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.NullBooleanField: {"filter_class": BooleanFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet
