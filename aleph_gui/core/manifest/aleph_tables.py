"""Aleph's manifest document (TOML and JSON share one structure) mapped onto `PluginManifest`.

Both spellings are read: the design form (`[plugin]`, `[[capabilities]]`, `[scope]`) and Aleph's real
tables (`[[tools]]`, `[[hooks]]`, `[permissions]`, `[config_schema.*]`, ...). Each field's written
path is remembered in a `SourceMap`, so validation names the field as the user wrote it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aleph_gui.core.hook_events import canonical_event
from aleph_gui.core.json_schema import config_json_schema
from aleph_gui.core.manifest.ids import ID_RULE, sanitize_id
from aleph_gui.core.manifest.model import CAPABILITY_TYPES, ParseResult
from aleph_gui.core.manifest.validation import finish
from aleph_gui.core.manifest.wording import Collector, SourceMap, Spelling, type_name

PRIORITY_WORDS = {"high": -10, "normal": 0, "low": 10}

# Keys each section accepts (anything else is an unknown-key warning and is ignored).
PLUGIN_KEYS = frozenset({
    "id", "name", "version", "description", "author", "homepage", "kind", "entry", "activation", "shape",
    "license", "keywords", "repository",
})
CAPABILITY_KEYS = frozenset({
    "type", "name", "event", "description", "handler", "priority", "kind", "matcher", "filter",
    "fail_closed", "timeout_ms", "parameters", "details",
})
# Type-specific keys that land in `Capability.details`.
DETAIL_KEYS: dict[str, frozenset[str]] = {
    "service": frozenset({"start_handler", "stop_handler"}),
    "http_route": frozenset({"method", "path"}),
    "skill": frozenset({"path"}),
    "agent": frozenset({"path"}),
    "command": frozenset({"path"}),
    "mcp_server": frozenset({"command", "args", "env", "url", "headers", "transport"}),
}
SCOPE_KEYS = frozenset({"allowed_apis", "file_access", "network_access", "shell"})
FILE_ACCESS_KEYS = frozenset({"mode", "paths"})
NETWORK_ACCESS_KEYS = frozenset({"mode", "hosts"})
LIMITS_KEYS = frozenset({"memory_mb", "tool_timeout_ms", "hook_timeout_ms"})
PERMISSIONS_KEYS = frozenset({"shell", "filesystem", "network", "allowed_apis", "apis"})

WASM_SUFFIXES = (".wasm", ".wat")
NODE_SUFFIXES = (".js", ".mjs", ".cjs")


# -- capabilities and permissions ----------------------------------------------------------


def parse_priority(value: Any, out: Collector, field: str) -> int | None:
    """Aleph's priority: an int, or "high" | "normal" | "low" (-10 / 0 / 10). None = invalid."""
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        return value
    elif isinstance(value, str) and value.strip().lower() in PRIORITY_WORDS:
        return PRIORITY_WORDS[value.strip().lower()]
    out.error(field, f"must be a whole number or one of high, normal, low (got {value!r})")
    return None


def _event_name(name: str, out: Collector, field: str) -> str:
    """The canonical event name; an unknown event is a warning (the hook never fires)."""
    canon = canonical_event(name)
    if canon is None:
        out.warning(field, f"unknown hook event '{name}'; this hook will never run")
        return name
    return canon


def capability_from_table(raw: Any, cap_type: str | None, out: Collector, where: str,
                          ) -> dict[str, Any] | None:
    """One capability table (design form or a real Aleph table) -> canonical dict, or None."""
    if not isinstance(raw, dict):
        out.error(where, f"must be a table, got {type_name(raw)}")
        return None
    cap_type = cap_type or raw.get("type")
    if cap_type is None:
        out.error(f"{where}.type", f"is required: one of {', '.join(CAPABILITY_TYPES)}")
        return None
    if cap_type not in CAPABILITY_TYPES:
        out.error(f"{where}.type", f"'{cap_type}' is not a capability type; use one of "
                                   f"{', '.join(CAPABILITY_TYPES)}")
        return None
    detail_keys = DETAIL_KEYS.get(cap_type, frozenset())
    table = out.unknown_keys(raw, CAPABILITY_KEYS | detail_keys, where)
    cap: dict[str, Any] = {"type": cap_type}
    details: dict[str, Any] = {}
    for key, value in table.items():
        if key == "type":
            continue
        if key in detail_keys:
            details[key] = value
        elif key == "details":
            if isinstance(value, dict):
                details.update(value)
            else:
                out.error(f"{where}.details", f"must be a table, got {type_name(value)}")
        elif key == "filter":
            cap["matcher"] = value
        elif key == "kind":
            cap["hook_kind"] = value
        elif key == "priority":
            prio = parse_priority(value, out, f"{where}.priority")
            if prio is not None:
                cap["priority"] = prio
        else:
            cap[key] = value
    if details:
        cap["details"] = details
    if cap_type == "hook":
        if not isinstance(cap.get("event"), str) or not cap.get("event"):
            out.error(f"{where}.event", "a hook needs the name of the event it listens to")
            return None
        cap["event"] = _event_name(cap["event"], out, f"{where}.event")
    elif cap_type == "http_route":
        if not cap.get("name"):
            cap["name"] = f"{details.get('method', 'GET')} {details.get('path', '/')}"
    elif not isinstance(cap.get("name"), str) or not cap.get("name"):
        out.error(f"{where}.name", f"a {cap_type.replace('_', ' ')} needs a name")
        return None
    return cap


def scope_from_permissions(raw: Any, out: Collector, where: str = "[permissions]") -> dict[str, Any]:
    """Aleph's `[permissions]` table -> canonical scope dict (ARCHITECTURE.md mapping)."""
    scope: dict[str, Any] = {}
    if not isinstance(raw, dict):
        out.error(where, f"must be a table, got {type_name(raw)}")
        return scope
    table = out.unknown_keys(raw, PERMISSIONS_KEYS, where)
    if "shell" in table:
        scope["shell"] = table["shell"]
    if "filesystem" in table:
        fs = table["filesystem"]
        mode_words = {"read": "read", "write": "read_write", "read_write": "read_write", "none": "none"}
        if isinstance(fs, bool):
            scope["file_access"] = {"mode": "read_write" if fs else "none"}
        elif isinstance(fs, str) and fs in mode_words:
            scope["file_access"] = {"mode": mode_words[fs]}
        elif isinstance(fs, dict):
            fs = out.unknown_keys(fs, FILE_ACCESS_KEYS, f"{where}.filesystem")
            mode = fs.get("mode", "read")
            scope["file_access"] = {"mode": mode_words.get(mode, mode), "paths": fs.get("paths", [])}
        else:
            out.error(f"{where}.filesystem", f"must be \"read\", \"write\" or \"none\" (got {fs!r})")
    if "network" in table:
        net = table["network"]
        if isinstance(net, bool):
            scope["network_access"] = {"mode": "any" if net else "none"}
        elif isinstance(net, list):
            scope["network_access"] = {"mode": "allow", "hosts": net}
        else:
            out.error(f"{where}.network", f"must be true, false or a list of hosts (got {net!r})")
    apis = table.get("allowed_apis", table.get("apis"))
    if apis is not None:
        scope["allowed_apis"] = apis
    return scope


def check_scope_table(raw: Any, out: Collector, where: str) -> dict[str, Any]:
    """The design-form `[scope]` table, with unknown keys warned about."""
    if not isinstance(raw, dict):
        out.error(where, f"must be a table, got {type_name(raw)}")
        return {}
    table = out.unknown_keys(raw, SCOPE_KEYS, where)
    for key, known in (("file_access", FILE_ACCESS_KEYS), ("network_access", NETWORK_ACCESS_KEYS)):
        if isinstance(table.get(key), dict):
            table[key] = out.unknown_keys(table[key], known, f"{where}.{key}")
    return table


def merge_scopes(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """`[scope]` and `[permissions]` both given: the union of what they ask for."""
    merged = dict(first)
    for key, value in second.items():
        if key == "allowed_apis" and isinstance(merged.get(key), list) and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key == "shell":
            merged[key] = bool(merged.get(key)) or value
        else:
            merged.setdefault(key, value)
    return merged


def default_kind_and_entry(folder: Path, kind: Any, entry: Any) -> tuple[Any, Any]:
    """Fill kind/entry the way DESIGN.md says: by the entry's file type, else by the files present."""
    if kind is None:
        if isinstance(entry, str) and entry:
            lower = entry.lower()
            if lower.endswith(WASM_SUFFIXES):
                kind = "wasm"
            elif lower.endswith(NODE_SUFFIXES):
                kind = "nodejs"
            else:
                kind = "static"
        elif (folder / "plugin.wasm").is_file():
            kind, entry = "wasm", "plugin.wasm"
        elif (folder / "index.js").is_file():
            kind, entry = "nodejs", "index.js"
        else:
            kind = "static"
    elif entry is None and kind == "wasm":
        entry = "plugin.wasm"
    elif entry is None and kind == "nodejs":
        entry = "index.js"
    return kind, entry


def plugin_id_from(raw_id: Any, name: Any, folder: Path, *, derive: bool) -> str:
    """The id to use: as written, or (when missing and `derive`) the sanitised name or folder name."""
    if isinstance(raw_id, str) and raw_id:
        return raw_id
    if derive:
        for candidate in (name, folder.name):
            if isinstance(candidate, str) and sanitize_id(candidate):
                return sanitize_id(candidate)
    return ""


# -- the Aleph document (TOML and JSON share one structure) ---------------------------------

# Aleph's real tables and the capability type each one declares.
REAL_TABLES: dict[str, str] = {
    "tools": "tool", "hooks": "hook", "commands": "command", "services": "service",
    "channels": "channel", "providers": "provider", "http_routes": "http_route",
}
DOCUMENT_KEYS = frozenset({
    "plugin", "capabilities", "scope", "permissions", "limits", "config", "config_schema", *REAL_TABLES,
})
# `[capabilities]` as a table (Aleph's workspace prefixes): known, carried by the runtime issues.
CAPABILITY_TABLE_KEYS = frozenset({"workspace"})


def from_document(doc: dict[str, Any], folder: Path, out: Collector, *, fmt: str, manifest_file: str,
                  style: str, derive_id: bool, plugin_section: dict[str, Any] | None = None,
                  plugin_where: str | None = None, package_defaults: dict[str, Any] | None = None,
                  ) -> ParseResult:
    """Map an Aleph manifest document (design form and/or real tables) onto `PluginManifest`."""
    sp = Spelling(style)
    source = SourceMap(style)
    doc = out.unknown_keys(doc, DOCUMENT_KEYS, "")
    plugin_where = sp.table("plugin") if plugin_where is None else plugin_where
    if plugin_section is None:
        plugin_section = doc.get("plugin", {})
        if "plugin" not in doc:
            out.error(plugin_where, "is missing: the manifest needs a plugin section with at least an id")
    if not isinstance(plugin_section, dict):
        out.error(plugin_where, f"must be a table, got {type_name(plugin_section)}")
        plugin_section = {}
    prefix = f"{plugin_where}." if plugin_where else ""
    plugin = out.unknown_keys(plugin_section, PLUGIN_KEYS, plugin_where)
    defaults = package_defaults or {}

    canonical: dict[str, Any] = {"format": fmt, "manifest_file": manifest_file}
    for key in ("name", "version", "description", "author", "homepage", "activation"):
        value = plugin.get(key, defaults.get(key))
        if key == "author" and isinstance(value, dict):
            value = value.get("name", "")
        if value is not None:
            canonical[key] = value
            source.add((key,), f"{prefix}{key}" if key in plugin else key)
    raw_id = plugin.get("id", defaults.get("id"))
    canonical["id"] = plugin_id_from(raw_id, canonical.get("name"), folder, derive=derive_id)
    source.add(("id",), f"{prefix}id")
    if not canonical["id"]:
        out.error(f"{prefix}id", "is required: " + ID_RULE)
    canonical.setdefault("name", canonical["id"])
    if "version" not in canonical:
        canonical["version"] = "0.0.0"
        out.warning(f"{prefix}version", "no version given; shown as 0.0.0")
    kind, entry = default_kind_and_entry(folder, plugin.get("kind"), plugin.get("entry", defaults.get("entry")))
    canonical["kind"] = kind
    source.add(("kind",), f"{prefix}kind")
    if entry is not None:
        canonical["entry"] = entry
        source.add(("entry",), f"{prefix}entry" if "entry" in plugin or "entry" not in defaults else "main")

    caps: list[dict[str, Any]] = []
    declared = doc.get("capabilities")
    if isinstance(declared, list):
        for index, raw in enumerate(declared):
            _add_capability(caps, source, raw, None, sp.array_item("capabilities", index), out)
    elif isinstance(declared, dict):
        out.unknown_keys(declared, CAPABILITY_TABLE_KEYS, sp.table("capabilities"))
    elif declared is not None:
        out.error(sp.table("capabilities"), f"must be a list of capability tables, got {type_name(declared)}")
    uses_real_tables = False
    for table_name, cap_type in REAL_TABLES.items():
        items = doc.get(table_name)
        if items is None:
            continue
        if not isinstance(items, list):
            out.error(sp.table(table_name), f"must be a list of tables ([[{table_name}]]), "
                                            f"got {type_name(items)}")
            continue
        uses_real_tables = True
        for index, raw in enumerate(items):
            _add_capability(caps, source, raw, cap_type, sp.array_item(table_name, index), out)
    canonical["capabilities"] = caps

    shape = plugin.get("shape")
    if shape is None:
        has_handlers = any(c.get("handler") for c in caps)
        shape = "server" if kind == "nodejs" and uses_real_tables and has_handlers else "module"
    canonical["node_shape"] = shape
    source.add(("node_shape",), f"{prefix}shape")

    scope: dict[str, Any] = {}
    if "scope" in doc:
        scope = check_scope_table(doc["scope"], out, sp.table("scope"))
        source.add(("scope",), sp.table("scope"))
    if "permissions" in doc:
        scope = merge_scopes(scope, scope_from_permissions(doc["permissions"], out, sp.table("permissions")))
        if "scope" not in doc:
            source.add(("scope",), sp.table("permissions"))
    for key in ("allowed_apis", "file_access", "network_access", "shell"):
        if key in defaults.get("scope", {}):
            scope.setdefault(key, defaults["scope"][key])
    canonical["scope"] = scope

    if "limits" in doc:
        limits = doc["limits"]
        if isinstance(limits, dict):
            limits = out.unknown_keys(limits, LIMITS_KEYS, sp.table("limits"))
        canonical["limits"] = limits
        source.add(("limits",), sp.table("limits"))
    config_schema = doc.get("config_schema", {})
    canonical["config_schema"] = config_schema
    source.add(("config_schema",), sp.table("config_schema"))
    config = doc.get("config", {})
    if isinstance(config, dict) and isinstance(config_schema, dict):
        config = dict(config)
        properties = config_json_schema(config_schema).get("properties")
        for key, spec in properties.items() if isinstance(properties, dict) else ():
            if isinstance(spec, dict) and "default" in spec:
                config.setdefault(key, spec["default"])
    canonical["config_defaults"] = config
    source.add(("config_defaults",), sp.table("config"))
    return finish(canonical, folder, source, out, fmt=fmt, manifest_file=manifest_file)


def _add_capability(caps: list[dict[str, Any]], source: SourceMap, raw: Any, cap_type: str | None,
                    where: str, out: Collector) -> None:
    cap = capability_from_table(raw, cap_type, out, where)
    if cap is None:
        return
    index = len(caps)
    caps.append(cap)
    source.add(("capabilities", index), where)
    source.add(("capabilities", index, "hook_kind"), f"{where}.kind")
    source.add(("capabilities", index, "details"), where)
    if isinstance(raw, dict) and "filter" in raw:
        source.add(("capabilities", index, "matcher"), f"{where}.filter")
