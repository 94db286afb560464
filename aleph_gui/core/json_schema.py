"""JSON Schema in one place: is a schema valid, and do tool arguments or plugin settings fit one.

Used by manifest validation (a tool's `parameters` and the `config_schema` must be valid schemas),
by the loader (tool arguments are checked before any plugin code runs) and by settings (`config`
values are checked against `config_schema`). jsonschema is imported only when a schema is not
plainly valid or when values are checked: listing thousands of manifests never pays for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from aleph_gui.core.errors import PluginCallError
from aleph_gui.core.manifest.wording import field_suffix, json_type_words, type_name

# -- is a schema valid? ------------------------------------------------------------------------------

JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_TEXT_KEYWORDS = frozenset({"description", "title", "format", "$comment"})
_ANY_KEYWORDS = frozenset({"default", "const"})
_COUNT_KEYWORDS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_FLAG_KEYWORDS = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})


@cache
def _meta_validator() -> Any:
    # jsonschema pulls in a lot; only schemas the fast path cannot vouch for pay for it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 64:
        return False
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def plainly_valid_schema(schema: Any, depth: int = 0) -> bool:
    """True only for schemas built from common keywords used correctly (what tool parameters are).

    A fast path: it never rejects, it only answers "surely valid". Anything else ($ref, allOf,
    patterns, mistakes) goes to jsonschema's meta-schema check, which also words the error.
    """
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or depth > 32:
        return False
    for key, value in schema.items():
        if key == "type":
            types = value if isinstance(value, list) else [value]
            if not types or not all(isinstance(t, str) and t in JSON_TYPES for t in types) or \
                    len(set(types)) != len(types):
                return False
        elif key == "properties":
            if not isinstance(value, dict) or not all(plainly_valid_schema(v, depth + 1) for v in value.values()):
                return False
        elif key in ("items", "additionalProperties"):
            if not plainly_valid_schema(value, depth + 1):
                return False
        elif key == "required":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or \
                    len(set(value)) != len(value):
                return False
        elif key in ("enum", "examples"):
            if not isinstance(value, list) or not _is_json(value):
                return False
        elif key in _TEXT_KEYWORDS:
            if not isinstance(value, str):
                return False
        elif key in _ANY_KEYWORDS:
            if not _is_json(value):
                return False
        elif key in _COUNT_KEYWORDS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return False
        elif key in _NUMBER_KEYWORDS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return False
        elif key in _FLAG_KEYWORDS:
            if not isinstance(value, bool):
                return False
        else:
            return False
    return True


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a valid JSON Schema (any type), or None."""
    if isinstance(schema, bool):
        return None  # `true` / `false` are schemas too
    if not isinstance(schema, dict):
        return f"must be a JSON Schema (a table), got {type_name(schema)}"
    if plainly_valid_schema(schema):
        return None
    from jsonschema.exceptions import SchemaError

    try:
        _meta_validator().check_schema(schema)
    except SchemaError as exc:
        where = field_suffix(tuple(exc.path)).lstrip(".")
        at = f" at '{where}'" if where else ""
        if exc.validator == "type":
            return (f"is not a valid JSON Schema{at}: expected {json_type_words(exc.validator_value)}, "
                    f"got {type_name(exc.instance)}")
        if exc.path and exc.path[-1] == "type" and isinstance(exc.instance, str):
            return (f"is not a valid JSON Schema{at}: '{exc.instance}' is not a type; use one of "
                    f"{', '.join(sorted(JSON_TYPES))}")
        detail = exc.message if len(exc.message) <= 160 else exc.message[:157] + "..."
        return f"is not a valid JSON Schema{at}: {detail}"
    if not _is_json(schema):
        return "is not a valid JSON Schema: it holds values JSON cannot express (dates or times)"
    return None


def parameters_problem(schema: Any) -> str | None:
    """Why a tool's `parameters` is not a JSON Schema of an object, or None."""
    if not isinstance(schema, dict):
        return f"must be a JSON Schema object (a table), got {type_name(schema)}"
    if schema.get("type", "object") != "object":
        return f"must describe an object (type = \"object\"), not {schema.get('type')!r}"
    return schema_problem(schema)


# -- a plugin's settings (`config_schema`) ------------------------------------------------------------

# Keywords of an object schema: a `config_schema` made only of these is a whole JSON Schema,
# anything else is Aleph's per-key table (`[config_schema.units] type = "string"`).
_OBJECT_SCHEMA_KEYS = frozenset({
    "$schema", "$id", "$defs", "$comment", "type", "title", "description", "properties", "required",
    "additionalProperties", "patternProperties", "propertyNames", "minProperties", "maxProperties",
    "default", "examples", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentRequired",
    "dependentSchemas", "unevaluatedProperties",
})


def _is_whole_schema(config_schema: dict[str, Any]) -> bool:
    if config_schema.get("type") == "object":
        return True
    properties = config_schema.get("properties")
    return isinstance(properties, dict) and _OBJECT_SCHEMA_KEYS.issuperset(config_schema) and \
        all(isinstance(v, dict | bool) for v in properties.values())


def config_json_schema(config_schema: dict[str, Any]) -> dict[str, Any]:
    """A manifest's `config_schema` as one JSON Schema of an object.

    Two spellings are accepted: a whole schema (`{"type": "object", "properties": {...}}`) is used
    as written; Aleph's per-key table (`{key: {type, default, description, enum, ...}}`) becomes the
    `properties` of an object schema, where `required = true` on a key (draft-3 style) puts that
    key in `required`. Keys the table does not describe stay allowed.
    """
    if _is_whole_schema(config_schema):
        return config_schema
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, spec in config_schema.items():
        if isinstance(spec, dict) and isinstance(spec.get("required"), bool):
            if spec["required"]:
                required.append(key)
            spec = {k: v for k, v in spec.items() if k != "required"}
        if isinstance(spec, dict | bool):
            properties[key] = spec
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def config_schema_problems(config_schema: Any) -> list[tuple[tuple[str, ...], str]]:
    """Why a `config_schema` cannot describe settings: (path below `config_schema`, message) each.

    A per-key table is checked key by key, so each problem names its setting.
    """
    if not isinstance(config_schema, dict) or not config_schema:
        return []  # a wrong type is the model's to report
    if _is_whole_schema(config_schema):
        problem = schema_problem(config_schema)
        return [((), problem)] if problem else []
    problems: list[tuple[tuple[str, ...], str]] = []
    for key, spec in config_schema.items():
        if not isinstance(spec, dict):
            problems.append(((key,), "must be a table describing the setting (type, default, description), "
                                     f"got {type_name(spec)}"))
            continue
        if isinstance(spec.get("required"), bool):
            spec = {k: v for k, v in spec.items() if k != "required"}
        problem = schema_problem(spec)
        if problem:
            problems.append(((key,), problem))
    return problems


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def config_errors(config_schema: dict[str, Any], values: Any) -> list[str]:
    """Every way `values` does not fit the plugin's `config_schema`, each naming the setting.

    `["'max_items': must be a whole number, got 'ten'"]`; empty when the settings fit.
    """
    schema = config_json_schema(config_schema)
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.path])
    except jsonschema.SchemaError as exc:
        return [f"the plugin's config_schema is invalid: {exc.message}"]
    out: list[str] = []
    for err in errors:
        path = tuple(err.path)
        if err.validator == "required" and isinstance(err.instance, dict):
            missing = [k for k in err.validator_value if k not in err.instance and f"{k!r}" in err.message]
            path, text = path + tuple(missing[:1]), "is required"
        elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
            extra = [k for k in err.instance if k not in known]
            path, text = path + tuple(extra[:1]), "is not a setting this plugin has"
        elif err.validator == "type":
            text = f"must be {json_type_words(err.validator_value)}, got {_shown(err.instance)}"
        elif err.validator == "enum":
            text = f"must be one of {', '.join(_shown(v) for v in err.validator_value)}, got {_shown(err.instance)}"
        else:
            text = err.message
        out.append(f"'{path[0]}{field_suffix(path[1:])}': {text}" if path else f"the settings {text}")
    return out


# -- tool arguments --------------------------------------------------------------------------------


class InvalidArguments(PluginCallError):
    """The arguments do not match the tool's parameter schema."""


def argument_errors(schema: dict[str, Any], arguments: Any, validator: Any = None) -> list[str]:
    """Every mismatch as 'field: message' (empty list when the arguments fit)."""
    import jsonschema

    try:
        validator = validator or jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
    except jsonschema.SchemaError as exc:
        return [f"the tool's own parameter schema is invalid: {exc.message}"]
    out = []
    for err in errors:
        where = "/".join(str(p) for p in err.path) or "(arguments)"
        out.append(f"{where}: {err.message}")
    return out


def check_arguments(plugin_id: str, tool: str, schema: dict[str, Any], arguments: Any,
                    validator: Any = None) -> None:
    problems = argument_errors(schema, arguments, validator)
    if problems:
        raise InvalidArguments(plugin_id, f"tool '{tool}' got invalid arguments — {'; '.join(problems[:3])}")


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "array": (list,), "object": (dict,), "null": (type(None),),
}
_PLAIN_OBJECT_KEYS = frozenset({"type", "properties", "required", "additionalProperties", "description",
                                "title", "$schema"})
_PLAIN_PROPERTY_KEYS = frozenset({"type", "description", "default", "title", "examples"})


def _plain_checker(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """For the common flat shape (an object of typed properties) a checker that answers only
    "surely valid" — jsonschema costs more than a small WASM call. None when the shape is not plain."""
    if schema.get("type") != "object" or not _PLAIN_OBJECT_KEYS.issuperset(schema):
        return None
    props = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(props, dict) or not isinstance(required, list) or not isinstance(extra, bool):
        return None
    types: dict[str, tuple[type, ...]] = {}
    for name, prop in props.items():
        kind = prop.get("type") if isinstance(prop, dict) else None
        if not isinstance(kind, str) or kind not in _PY_TYPES or not _PLAIN_PROPERTY_KEYS.issuperset(prop):
            return None
        types[name] = _PY_TYPES[kind]
    exact_bool = {name for name, t in types.items() if t == (bool,)}

    def surely_valid(arguments: Any) -> bool:
        if not isinstance(arguments, dict) or any(r not in arguments for r in required):
            return False
        for key, value in arguments.items():
            allowed = types.get(key)
            if allowed is None:
                if not extra:
                    return False
                continue
            if isinstance(value, bool) and key not in exact_bool and bool not in allowed:
                return False  # JSON true is not a number
            if not isinstance(value, allowed):
                return False
        return True

    return surely_valid


def compile_validator(schema: dict[str, Any]) -> Callable[[str, str, Any], None]:
    """A checker with the schema compiled once: `check(plugin_id, tool, arguments)` raises on mismatch."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
    except Exception:  # an invalid schema is reported by argument_errors on each call
        validator = None
    plain = _plain_checker(schema) if validator is not None else None

    def check(plugin_id: str, tool: str, arguments: Any) -> None:
        if plain is not None and plain(arguments):
            return
        if validator is not None and validator.is_valid(arguments):
            return
        check_arguments(plugin_id, tool, schema, arguments, validator)

    return check
