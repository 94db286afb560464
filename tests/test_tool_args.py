"""Tool arguments are checked against the tool's schema before plugin code runs; the fast path for
plain schemas never lets through what jsonschema would refuse."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aleph_gui.core.tool_args import InvalidArguments, _plain_checker, compile_validator

JSON_TYPES = ["string", "number", "integer", "boolean", "array", "object", "null"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6)
names = st.sampled_from(["a", "b", "c", "text"])
schemas = st.builds(
    lambda props, required, extra: {"type": "object", "properties": props, "required": required,
                                    "additionalProperties": extra},
    st.dictionaries(names, st.builds(lambda t: {"type": t}, st.sampled_from(JSON_TYPES)), max_size=3),
    st.lists(names, max_size=2, unique=True), st.booleans())
arguments = st.dictionaries(names, json_values, max_size=4) | json_values


@settings(max_examples=400, deadline=None)
@given(schemas, arguments)
def test_plain_fast_path_never_accepts_what_jsonschema_rejects(schema: dict, args: object) -> None:
    plain = _plain_checker(schema)
    assert plain is not None
    if plain(args):
        assert jsonschema.Draft202012Validator(schema).is_valid(args)


def test_invalid_arguments_name_the_field() -> None:
    check = compile_validator({"type": "object", "properties": {"days": {"type": "integer"}},
                               "required": ["city"]})
    check("p", "forecast", {"city": "Oslo", "days": 3})
    with pytest.raises(InvalidArguments, match="'city' is a required property"):
        check("p", "forecast", {"days": 3})
    with pytest.raises(InvalidArguments, match="days: True is not of type 'integer'"):
        check("p", "forecast", {"city": "Oslo", "days": True})


def test_complex_schemas_still_go_through_jsonschema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    assert _plain_checker(schema) is None
    with pytest.raises(InvalidArguments, match="n: 0 is less than the minimum of 1"):
        compile_validator(schema)("p", "t", {"n": 0})
