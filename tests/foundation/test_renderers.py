"""contorl.renderers.FastJSONRenderer: orjson, the same JSON as DRF's JSONRenderer."""

import datetime
import decimal
import json
import uuid

from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from contorl.renderers import FastJSONRenderer

FAST, DRF = FastJSONRenderer(), JSONRenderer()

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8) | st.integers(0, 99), inner, max_size=5)
    ),
    max_leaves=30,
)


@given(values)
def test_any_json_value_encodes_as_drf_encodes_it(value):
    fast, drf = FAST.render(value), DRF.render(value)
    if value is None:
        assert fast == drf == b""
        return
    assert json.loads(fast) == json.loads(drf)
    if b"e-0" not in drf:  # otherwise maybe a small float's exponent, the one difference
        assert fast == drf


def test_the_types_drf_encodes_its_own_way_are_left_to_it():
    payload = {
        "at": datetime.datetime(2026, 12, 1, 8, 30, 0, 123456, tzinfo=datetime.UTC),
        "day": datetime.date(2026, 12, 1),
        "hours": decimal.Decimal("7.50"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "label": gettext_lazy("Done"),
        "raw": b"bytes",
        "title": "停機 \u2028 <script>",
        "ids": (1, 2),
        7: "int key",
        "big": 2**70,  # beyond orjson's 64 bits: DRF's renderer writes it
    }
    assert FAST.render(payload) == DRF.render(payload)
    small = {k: v for k, v in payload.items() if k != "big"}
    assert FAST.render(small) == DRF.render(small)
    assert b'"at":"2026-12-01T08:30:00.123456Z"' in FAST.render(small)
    assert b"\\u2028" in FAST.render(small)


def test_an_indented_response_is_drfs():
    data = {"a": [1, 2]}
    assert FAST.render(data, "application/json; indent=4") == DRF.render(data, "application/json; indent=4")
    assert b"\n" in FAST.render(data, "application/json; indent=4")
    assert FAST.render(None) == b""


def test_the_api_answers_through_it(api, settings):
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_RENDERER_CLASSES[0] is FastJSONRenderer
