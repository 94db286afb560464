"""Tool arguments are checked against the tool's schema before plugin code runs (the fast path for
plain schemas never lets through what jsonschema would refuse); a plugin's settings are checked against
its `config_schema`, whichever of the two spellings the manifest uses."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aleph_gui.core.json_schema import (
    InvalidArguments,
    _plain_checker,
    compile_validator,
    config_errors,
    config_json_schema,
    schema_problem,
)

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


# -- settings (`config_schema`) -------------------------------------------------------------------------

PER_KEY = {"max_items": {"type": "integer", "default": 10, "description": "How many"},
           "units": {"type": "string", "enum": ["metric", "imperial"]},
           "token": {"type": "string", "required": True}}
WHOLE = {"type": "object", "required": ["token"],
         "properties": {"max_items": {"type": "integer", "default": 10},
                        "units": {"type": "string", "enum": ["metric", "imperial"]},
                        "token": {"type": "string"}}}


def test_both_config_schema_spellings_become_one_object_schema() -> None:
    normalised = config_json_schema(PER_KEY)
    assert normalised == {"type": "object", "required": ["token"], "properties": {
        "max_items": {"type": "integer", "default": 10, "description": "How many"},
        "units": {"type": "string", "enum": ["metric", "imperial"]},
        "token": {"type": "string"}}}
    assert schema_problem(normalised) is None
    assert config_json_schema(WHOLE) == WHOLE
    assert config_json_schema({"properties": {"a": {"type": "string"}}}) == {"properties": {"a": {"type": "string"}}}


def test_a_setting_named_like_a_keyword_is_still_a_setting() -> None:
    per_key = {"type": {"type": "string"}, "properties": {"type": "integer"}}
    assert config_json_schema(per_key)["properties"] == per_key


@pytest.mark.parametrize("config_schema", [PER_KEY, WHOLE], ids=["per-key", "whole"])
def test_config_errors_name_the_setting(config_schema: dict) -> None:
    assert config_errors(config_schema, {"max_items": 3, "units": "metric", "token": "t", "extra": 1}) == []
    assert config_errors(config_schema, {"max_items": "ten", "units": "kelvin"}) == [
        "'token': is required",
        "'max_items': must be a whole number, got 'ten'",
        "'units': must be one of 'metric', 'imperial', got 'kelvin'",
    ]


def test_config_errors_word_nested_values_and_closed_schemas() -> None:
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"hosts": {"type": "array", "items": {"type": "string"}}}}
    assert config_errors(schema, {"hosts": ["a", 5], "colour": True}) == [
        "'colour': is not a setting this plugin has",
        "'hosts[1]': must be text, got 5",
    ]
    assert config_errors(schema, ["not", "a", "table"]) == [
        'the settings must be a table/object, got ["not", "a", "table"]']
