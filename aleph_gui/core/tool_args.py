"""Check tool arguments against the tool's JSON schema before any plugin code runs."""

from __future__ import annotations

from typing import Any

from aleph_gui.core.errors import PluginCallError


class InvalidArguments(PluginCallError):
    """The arguments do not match the tool's parameter schema."""


def argument_errors(schema: dict[str, Any], arguments: Any) -> list[str]:
    """Every mismatch as 'field: message' (empty list when the arguments fit)."""
    import jsonschema

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
    except jsonschema.SchemaError as exc:
        return [f"the tool's own parameter schema is invalid: {exc.message}"]
    out = []
    for err in errors:
        where = "/".join(str(p) for p in err.path) or "(arguments)"
        out.append(f"{where}: {err.message}")
    return out


def check_arguments(plugin_id: str, tool: str, schema: dict[str, Any], arguments: Any) -> None:
    problems = argument_errors(schema, arguments)
    if problems:
        raise InvalidArguments(plugin_id, f"tool '{tool}' got invalid arguments — {'; '.join(problems[:3])}")
