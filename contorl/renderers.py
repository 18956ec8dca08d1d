"""JSON responses encoded by orjson: the same JSON as DRF's JSONRenderer, byte for byte but for
the exponent of a small float (orjson writes 1.5e-7 where the standard library writes 1.5e-07).

A board of 2,000 tasks is 880 kB of JSON: the standard library's encoder took 9-10 ms of the
request's 30 ms in one process (bench/PROFILE.md, tenth session), orjson about a tenth of
that. What orjson does not encode the way DRF does goes through DRF's own encoder: datetimes
(DRF writes UTC as `Z`), Decimals, lazy translations, bytes, anything else orjson does not
know. An indented response (the browsable API, `Accept: application/json; indent=4`) or an
integer beyond 64 bits takes DRF's own renderer. One difference: a float that is not finite
is written `null`, where DRF's strict JSON fails the request (payloads never hold one: the
formula fields store finite numbers only).
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_DRF_ENCODER = JSONEncoder()
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
# Kept escaped, as DRF does, so the JSON is also valid JavaScript.
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if not self.compact or self.ensure_ascii or self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(data, default=_DRF_ENCODER.default, option=_OPTIONS)
        except TypeError:
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in out or _PARAGRAPH_SEPARATOR in out:
            out = out.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return out
