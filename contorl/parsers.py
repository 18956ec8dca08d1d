"""Request parsers that refuse what the database or the stack would choke on.

PostgreSQL text and jsonb cannot store NUL (U+0000); psycopg raises on it and the request
would end in a 500. JSON nested thousands of levels deep makes json.loads (and anything
that walks the result recursively) raise RecursionError, another 500, even on the
unauthenticated token endpoint. Both are bad input: the parsers turn them into ParseError,
which contorl/errors.py renders as 400 `validation_error`.

Query strings and Django-form bodies are checked by contorl.security.InputSanityMiddleware,
with `contains_nul` from here.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def max_depth() -> int:
    return settings.JSON_MAX_DEPTH


def contains_nul(value) -> bool:
    """Any NUL in a string, a key or a nested value (QueryDicts included)? Iterative, so a
    deep value cannot overflow the stack here either."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif hasattr(item, "lists"):  # QueryDict / MultiValueDict: every value of every key
            for key, values in item.lists():  # (its values() gives only the last of each)
                stack.append(key)
                stack.extend(values)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def nul_error() -> ParseError:
    return ParseError(_("Text may not contain NUL (\\u0000) characters."))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a nesting limit (settings.JSON_MAX_DEPTH) and no NULs."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise self.too_deep() from None
        if depth_exceeds(data, max_depth()):
            raise self.too_deep()
        if contains_nul(data):
            raise nul_error()
        return data

    @staticmethod
    def too_deep() -> ParseError:
        return ParseError(_("JSON is nested more than %(limit)d levels deep.") % {"limit": max_depth()})


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise nul_error()
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Field values only: uploaded file contents may hold any bytes."""

    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        if contains_nul(result.data):
            raise nul_error()
        return result
