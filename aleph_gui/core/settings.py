"""A plugin's settings: its manifest's defaults, the user's values (in state.db), and the check of a new
value against the plugin's `config_schema` (JSON Schema) before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aleph_gui.core.errors import AlephError
from aleph_gui.core.json_schema import config_errors, config_json_schema
from aleph_gui.core.manifest.model import PluginManifest


class SettingsError(AlephError):
    """A value the plugin's config_schema refuses, or a key it does not know."""


@dataclass(frozen=True)
class Settings:
    plugin: str
    schema: dict[str, Any]  # one JSON Schema of an object ({} when the plugin has none)
    defaults: dict[str, Any]
    values: dict[str, Any]  # what the user set

    @property
    def effective(self) -> dict[str, Any]:
        return {**self.defaults, **self.values}

    @property
    def keys(self) -> list[str]:
        known = list((self.schema.get("properties") or {}).keys()) if self.schema else []
        return known + [k for k in {**self.defaults, **self.values} if k not in known]

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "schema": self.schema, "defaults": self.defaults, "values": self.values,
                "effective": self.effective}


def settings_of(manifest: PluginManifest, values: dict[str, Any]) -> Settings:
    schema = config_json_schema(manifest.config_schema) if manifest.config_schema else {}
    return Settings(manifest.id, schema, dict(manifest.config_defaults), dict(values))


def check_value(manifest: PluginManifest, values: dict[str, Any], key: str, value: Any) -> None:
    """Raises SettingsError naming the key when the plugin's schema refuses `key = value`."""
    if not key or not isinstance(key, str):
        raise SettingsError(manifest.id, "a setting needs a name")
    schema = config_json_schema(manifest.config_schema) if manifest.config_schema else {}
    properties = schema.get("properties") or {}
    if schema and key not in properties and schema.get("additionalProperties") is False:
        raise SettingsError(manifest.id, f"has no setting '{key}' (its settings: {', '.join(properties) or 'none'})")
    problems = config_errors(manifest.config_schema, {**manifest.config_defaults, **values, key: value}) \
        if manifest.config_schema else []
    mine = [p for p in problems if p.startswith(f"'{key}'")] or problems
    if mine:
        raise SettingsError(manifest.id, "; ".join(mine[:3]))
