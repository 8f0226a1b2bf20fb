"""`json_text`: result files' JSON, outer objects indented, each record on one line."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atb.reporting.json_text import json_text

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def test_outer_objects_are_indented_and_each_record_is_one_line() -> None:
    document = {
        "metrics": {"n_trades": 2, "sharpe": None},
        "trades": [
            {"entry_price": 100.5, "exit_price": 101.0, "reason": "take profit"},
            {"entry_price": 99.0, "legs": [{"fee": 0.1}], "reason": "stop loss"},
        ],
        "warnings": ["synthetic data", "ümlaut"],
        "empty": {},
        "none": [],
    }
    assert json_text(document) == (
        "{\n"
        '  "metrics": {\n'
        '    "n_trades": 2,\n'
        '    "sharpe": null\n'
        "  },\n"
        '  "trades": [\n'
        '    {"entry_price": 100.5, "exit_price": 101.0, "reason": "take profit"},\n'
        '    {"entry_price": 99.0, "legs": [{"fee": 0.1}], "reason": "stop loss"}\n'
        "  ],\n"
        '  "warnings": ["synthetic data", "ümlaut"],\n'
        '  "empty": {},\n'
        '  "none": []\n'
        "}\n"
    )


@given(st.dictionaries(st.text(), VALUES, max_size=6))
def test_the_text_reads_back_as_the_document_json_dumps_writes(document: dict[str, Any]) -> None:
    text = json_text(document)
    assert json.loads(text) == json.loads(json.dumps(document)) == document
    assert text.endswith("}\n")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_keep_every_bit(value: float) -> None:
    read = json.loads(json_text({"value": value, "rows": [{"value": value}]}))
    assert math.copysign(1.0, read["value"]) == math.copysign(1.0, value)
    assert read["value"] == value
    assert read["rows"][0]["value"] == value


def test_keys_that_are_not_text_are_spelled_as_json_dumps_spells_them() -> None:
    document: dict[str, Any] = {"inner": {1: "a", 2.5: "b", False: "c", None: "d"}}
    assert json.loads(json_text(document)) == json.loads(json.dumps(document))
    with pytest.raises(TypeError, match="keys must be str"):
        json_text({"inner": {("a", "b"): 1}})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_float_is_refused_wherever_it_sits(bad: float) -> None:
    for document in ({"value": bad}, {"rows": [{"value": bad}]}, {"list": [1.0, bad]}):
        with pytest.raises(ValueError, match="Out of range float values"):
            json_text(document)
