"""A multipart parser that refuses tricky file names instead of quietly trimming them.

Django's parser turns "../../etc/passwd" into "passwd" and drops NULs and bidi marks; the
upload would then succeed under a name the user never typed. For room files we would
rather refuse the request, so the attempt is visible (400 validation_error). Storage
names are server-generated either way (rooms/files.py).

Like contorl/parsers.py's parsers (which this one replaces on room uploads), it refuses NUL
in any field name, field value or file name: PostgreSQL text cannot hold it.
"""

import html

from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from rest_framework.exceptions import ParseError
from rest_framework.parsers import DataAndFiles, get_encoding
from rest_framework.parsers import MultiPartParser as DRFMultiPartParser

from contorl.parsers import contains_nul, nul_error

from .files import clean_name


class _StrictDjangoParser(DjangoMultiPartParser):
    def sanitize_file_name(self, file_name):
        clean_name(html.unescape(file_name))  # raises ValidationFailed on any trick
        return super().sanitize_file_name(file_name)


class StrictMultiPartParser(DRFMultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _StrictDjangoParser(meta, stream, request.upload_handlers, get_encoding(parser_context))
            data, files = parser.parse()
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        file_names = [upload.name for _field, uploads in files.lists() for upload in uploads]
        if contains_nul(data) or contains_nul(files) or contains_nul(file_names):
            raise nul_error()
        return DataAndFiles(data, files)
