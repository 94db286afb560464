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


def compile_validator(schema: dict[str, Any]) -> Callable[[str, str, Any], None]:
    """A checker with the schema compiled once: `check(plugin_id, tool, arguments)` raises on mismatch."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
    except Exception:  # an invalid schema is reported by argument_errors on each call
        validator = None

    def check(plugin_id: str, tool: str, arguments: Any) -> None:
        if validator is not None and validator.is_valid(arguments):
            return
        check_arguments(plugin_id, tool, schema, arguments, validator)

    return check
