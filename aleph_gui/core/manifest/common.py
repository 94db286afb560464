"""Shared building blocks of the Aleph manifest parsers (TOML, JSON, package.json).

Each parser reads its file, maps its own spelling onto one canonical dict (the fields of
`PluginManifest`) and remembers where each canonical field came from (`SourceMap`), so every
problem names the file, the field path *as the user wrote it* and what was expected.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aleph_gui.core.manifest.ids import ID_RULE, is_valid_id, sanitize_id
from aleph_gui.core.manifest.model import CAPABILITY_TYPES, ParseResult, PluginManifest
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.problems import Problem, error, has_errors, warning

log = logging.getLogger(__name__)

MAX_MANIFEST_BYTES = 1024 * 1024
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
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

Loc = tuple[str | int, ...]


class SourceMap:
    """Where each canonical field came from, for error messages.

    `add(("capabilities", 3), "[[hooks]][0]")` makes a problem at canonical
    `("capabilities", 3, "priority")` read `[[hooks]][0].priority`.
    """

    def __init__(self, style: str) -> None:
        self.style = style  # "toml" or "json"
        self._prefixes: dict[Loc, str] = {}

    def add(self, canonical: Loc, written: str) -> None:
        self._prefixes[canonical] = written

    def render(self, loc: Loc) -> str:
        for cut in range(len(loc), 0, -1):
            base = self._prefixes.get(loc[:cut])
            if base is not None:
                return base + _suffix(loc[cut:])
        return _suffix(loc).lstrip(".")


def _suffix(parts: Loc) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class Collector:
    """Problems of one manifest file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def error(self, field: str, message: str) -> None:
        self.problems.append(error(self.file, field, message))

    def warning(self, field: str, message: str) -> None:
        self.problems.append(warning(self.file, field, message))

    def unknown_keys(self, table: dict[str, Any], known: frozenset[str], where: str,
                     hint: str = "") -> dict[str, Any]:
        """Warn about keys the format does not define; return the table without them."""
        kept: dict[str, Any] = {}
        for key, value in table.items():
            if key in known:
                kept[key] = value
            else:
                field = f"{where}.{key}" if where else key
                self.warning(field, f"unknown key '{key}' is ignored{hint}")
        return kept


# -- reading -------------------------------------------------------------------------


def read_manifest_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or None and one clear problem (missing, too big, empty, not UTF-8)."""
    try:
        data = read_at_most(path, MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return None, [error(file, "", "the file does not exist")]
    except IsADirectoryError:
        return None, [error(file, "", "is a folder, not a manifest file")]
    except OSError as exc:
        return None, [error(file, "", f"cannot be read: {exc.strerror or exc}")]
    if len(data) > MAX_MANIFEST_BYTES:
        try:
            size = f"{os.stat(path).st_size / 1048576:.1f} MiB"
        except OSError:
            size = "more than 1 MiB"
        return None, [error(file, "", f"the manifest is {size}; manifests may be at most 1 MiB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [error(file, "", f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} "
                                      f"at offset {exc.start}); save it as UTF-8")]
    if not text.strip():
        return None, [error(file, "", "the file is empty")]
    return text, []


def read_at_most(path: Path, limit: int) -> bytes:
    """Up to `limit` bytes, with plain os calls (no buffering, isatty or seek: discovery reads thousands)."""
    # O_NONBLOCK: a FIFO named like a manifest reads as empty instead of hanging discovery.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        chunks: list[bytes] = []
        remaining = limit
        while remaining > 0:
            want = min(remaining, 65536)  # small buffers: a 1 MiB one per manifest costs an mmap each
            try:
                chunk = os.read(fd, want)
            except BlockingIOError:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
            if len(chunk) < want:
                break  # a short read of a regular file is its end: saves a read per manifest
        return b"".join(chunks)
    finally:
        os.close(fd)


def type_name(value: Any) -> str:
    """What a value is, in the words a manifest author uses."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "null"
    return type(value).__name__


# -- canonical building ---------------------------------------------------------------


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


@cache
def _canonical_event_func() -> Callable[[str], str | None] | None:
    """`hooks.canonical_event` when that module exists (it is built in parallel)."""
    try:
        from aleph_gui.core.hooks import canonical_event
    except ImportError:
        return None
    return canonical_event


def canonical_event(name: str, out: Collector, field: str) -> str:
    """The canonical event name; an unknown event is a warning (the hook never fires)."""
    func = _canonical_event_func()
    if func is None:
        return name
    canon = func(name)
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
        cap["event"] = canonical_event(cap["event"], out, f"{where}.event")
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


# -- validation ------------------------------------------------------------------------


def _translate(err: dict[str, Any]) -> str:
    """One pydantic error -> what was expected, in plain words."""
    kind = err.get("type", "")
    value = err.get("input")
    got = f" (got {type_name(value)} {value!r})" if not isinstance(value, dict | list) else \
        f" (got {type_name(value)})"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}{got}"
    if kind.startswith("string"):
        return f"must be text{got}"
    if kind.startswith("int") or kind == "float_parsing":
        return f"must be a whole number{got}"
    if kind.startswith("bool"):
        return f"must be true or false{got}"
    if kind.startswith(("dict", "model")):
        return f"must be a table{got}"
    if kind.startswith("list"):
        return f"must be a list{got}"
    return str(err.get("msg", "is not valid"))


def validate_manifest(canonical: dict[str, Any], source: SourceMap, out: Collector) -> PluginManifest | None:
    """Build the model; every pydantic error becomes one problem at the field the user wrote."""
    try:
        return PluginManifest.model_validate(canonical, strict=True)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            out.error(source.render(tuple(err["loc"])), _translate(dict(err)))
    return None


@cache
def _schema_validator() -> Any:
    # jsonschema pulls in a lot; only manifests that declare tool parameters pay for it.
    from jsonschema import Draft202012Validator

    return Draft202012Validator


JSON_TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
_TEXT_KEYWORDS = frozenset({"description", "title", "format", "$comment"})
_ANY_KEYWORDS = frozenset({"default", "const"})
_COUNT_KEYWORDS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_FLAG_KEYWORDS = frozenset({"uniqueItems", "deprecated", "readOnly", "writeOnly"})


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


def _plainly_valid_schema(schema: Any, depth: int = 0) -> bool:
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
            if not isinstance(value, dict) or not all(_plainly_valid_schema(v, depth + 1) for v in value.values()):
                return False
        elif key in ("items", "additionalProperties"):
            if not _plainly_valid_schema(value, depth + 1):
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


def _schema_problem(schema: Any) -> str | None:
    """Why a tool's `parameters` is not a JSON Schema object, or None."""
    if not isinstance(schema, dict):
        return f"must be a JSON Schema object (a table), got {type_name(schema)}"
    if schema.get("type", "object") != "object":
        return f"must describe an object (type = \"object\"), not {schema.get('type')!r}"
    if _plainly_valid_schema(schema):
        return None
    from jsonschema.exceptions import SchemaError

    try:
        _schema_validator().check_schema(schema)
    except SchemaError as exc:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path).lstrip(".")
        at = f" at '{where}'" if where else ""
        if exc.validator == "type":
            return (f"is not a valid JSON Schema{at}: expected {_words(exc.validator_value)}, "
                    f"got {type_name(exc.instance)}")
        detail = exc.message if len(exc.message) <= 160 else exc.message[:157] + "..."
        return f"is not a valid JSON Schema{at}: {detail}"
    if not _is_json(schema):
        return "is not a valid JSON Schema: it holds values JSON cannot express (dates or times)"
    return None


def _words(json_types: Any) -> str:
    names = {"object": "a table/object", "array": "a list", "string": "text", "number": "a number",
             "integer": "a whole number", "boolean": "true/false", "null": "null"}
    types = json_types if isinstance(json_types, list) else [json_types]
    return " or ".join(names.get(str(t), str(t)) for t in types)


def check_manifest(manifest: PluginManifest, folder: Path, source: SourceMap, out: Collector) -> None:
    """Rules beyond types: id, version, entry, duplicate names, tool parameter schemas."""
    if manifest.id and not is_valid_id(manifest.id):  # a missing id was reported already
        out.error(source.render(("id",)), f"'{manifest.id}' is not a valid plugin id: {ID_RULE}")
    if not SEMVER.match(manifest.version):
        out.warning(source.render(("version",)),
                    f"'{manifest.version}' is not a semantic version like 1.2.3")
    if manifest.entry is not None:
        reason = path_escape_reason(folder, manifest.entry)
        if reason:
            out.error(source.render(("entry",)), reason)
        # os.path.isfile, not Path.is_file: a name too long for the file system is "missing", not a crash.
        elif manifest.kind in ("wasm", "nodejs") and not os.path.isfile(os.path.join(folder, manifest.entry)):
            out.error(source.render(("entry",)), f"entry '{manifest.entry}' does not exist")
    elif manifest.kind in ("wasm", "nodejs"):
        out.error(source.render(("entry",)), f"a {manifest.kind} plugin needs an entry file")
    first_seen: dict[tuple[str, str], int] = {}
    for index, cap in enumerate(manifest.capabilities):
        if cap.type in ("tool", "command"):
            key = (cap.type, cap.name)
            if key in first_seen:
                out.error(source.render(("capabilities", index, "name")),
                          f"{cap.type} '{cap.name}' is declared twice (first at "
                          f"{source.render(('capabilities', first_seen[key]))})")
            else:
                first_seen[key] = index
        if cap.type == "tool" and cap.parameters is not None:
            problem = _schema_problem(cap.parameters)
            if problem:
                out.error(source.render(("capabilities", index, "parameters")), problem)
        detail_path = cap.details.get("path") if cap.type in ("skill", "agent", "command") else None
        if isinstance(detail_path, str) and detail_path:
            reason = path_escape_reason(folder, detail_path)
            if reason:
                out.error(source.render(("capabilities", index, "details", "path")), reason)


def plugin_id_from(raw_id: Any, name: Any, folder: Path, *, derive: bool) -> str:
    """The id to use: as written, or (when missing and `derive`) the sanitised name or folder name."""
    if isinstance(raw_id, str) and raw_id:
        return raw_id
    if derive:
        for candidate in (name, folder.name):
            if isinstance(candidate, str) and sanitize_id(candidate):
                return sanitize_id(candidate)
    return ""


def finish(canonical: dict[str, Any], folder: Path, source: SourceMap, out: Collector, *,
           fmt: str, manifest_file: str) -> ParseResult:
    """Validate the canonical dict and run the manifest rules; never raises."""
    raw_id = canonical.get("id")
    fallback = raw_id if isinstance(raw_id, str) and is_valid_id(raw_id) else \
        (sanitize_id(raw_id) if isinstance(raw_id, str) else "") or sanitize_id(folder.name) or folder.name
    manifest = validate_manifest(canonical, source, out)
    if manifest is not None:
        check_manifest(manifest, folder, source, out)
    problems = out.problems
    if has_errors(problems):
        log.debug("%s: %d problem(s)", folder, len(problems))
    return ParseResult(manifest=manifest, problems=problems, format=fmt,  # type: ignore[arg-type]
                       manifest_file=manifest_file, fallback_id=fallback)


def failed(file: str, problems: list[Problem], folder: Path, fmt: str) -> ParseResult:
    """A manifest that could not even be read: listed under the folder's name."""
    return ParseResult(manifest=None, problems=problems, format=fmt,  # type: ignore[arg-type]
                       manifest_file=file, fallback_id=sanitize_id(folder.name) or folder.name)


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


class Spelling:
    """How field paths are written in one file format."""

    def __init__(self, style: str) -> None:
        self.style = style

    def table(self, name: str) -> str:
        return f"[{name}]" if self.style == "toml" else name

    def array_item(self, name: str, index: int) -> str:
        return f"[[{name}]][{index}]" if self.style == "toml" else f"{name}[{index}]"


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
        for key, spec in config_schema.items():
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
