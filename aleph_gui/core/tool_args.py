"""Check tool arguments against the tool's JSON schema before any plugin code runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aleph_gui.core.errors import PluginCallError


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
