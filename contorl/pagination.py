"""The API's one paginator: `?page=` and `?page_size=` (1 to 500, default 50).

DRF's own page-number paginator quietly falls back to the default size for a page_size it
cannot read (`?page_size=null`, `?page_size=0`); here that is bad input, 400
validation_error, as the schema says (an integer of at least 1). Sizes above the maximum
are still served at the maximum.
"""

import re

from django.utils.translation import gettext as _
from rest_framework.pagination import PageNumberPagination

from .errors import ValidationFailed

_DIGITS = re.compile(r"[0-9]+")


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not _DIGITS.fullmatch(raw) or not raw.strip("0"):
            raise ValidationFailed.field(self.page_size_query_param, _("A whole number of at least 1."))
        return self.max_page_size if len(raw) > 9 else min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
        return parameters
