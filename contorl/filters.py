"""django-filter, with a yes/no filter that refuses what it cannot read.

django-filter's BooleanFilter reads `?external=maybe` as "no filter" and serves the whole
list; every other filter type answers an unreadable value with 400 validation_error, and the
schema documents these parameters as booleans. Here `true`/`false` (also `True`, `1`, `0`)
filter, an empty value is no filter, anything else is 400.

`FilterBackend` (settings.REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS) builds the filter sets of
`filterset_fields` on `FilterSet`, so model boolean fields get this filter too; hand-written
filter sets subclass `FilterSet` and declare `BooleanFilter`.
"""

import django_filters
from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend

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


class FilterSet(django_filters.FilterSet):
    FILTER_DEFAULTS = {
        **django_filters.FilterSet.FILTER_DEFAULTS,
        models.BooleanField: {"filter_class": BooleanFilter},
        models.NullBooleanField: {"filter_class": BooleanFilter},
    }


class FilterBackend(DjangoFilterBackend):
    filterset_base = FilterSet
