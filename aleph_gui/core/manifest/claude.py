"""Claude Code plugin formats: `.claude-plugin/plugin.json`, manifest-less layouts and `.mcp.json`.

Everything parses into the one `PluginManifest`. Skills, commands and agents become capabilities
named `plugin:name`; each command hook in `hooks.json` becomes a `hook` capability; each MCP
server an `mcp_server` capability. Command hooks and stdio MCP servers run programs as the user:
the manifest model derives `shell=True` from them (`requested.py`), so such a plugin needs review.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aleph_gui.core.manifest.claude_hooks import parse_hooks_object
from aleph_gui.core.manifest.claude_mcp import parse_mcp_object
from aleph_gui.core.manifest.detect import CLAUDE_COMPONENT_DIRS, CLAUDE_HOOKS, MCP_FILE
from aleph_gui.core.manifest.ids import sanitize_id
from aleph_gui.core.manifest.model import Capability, ParseResult, PluginManifest
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.manifest.reading import read_json
from aleph_gui.core.manifest.wording import json_kind
from aleph_gui.core.problems import Problem, error, has_errors, warning
from aleph_gui.core.skills import KINDS, scan_folder

log = logging.getLogger(__name__)

MANIFEST_KEY = {"skill": "skills", "command": "commands", "agent": "agents"}  # plugin.json's custom paths
KNOWN_PLUGIN_KEYS = frozenset({
    "$schema", "name", "version", "description", "author", "homepage", "repository", "license", "keywords",
    "commands", "agents", "skills", "hooks", "mcpServers", "outputStyles", "lspServers", "displayName",
    "category", "tags", "strict", "source", "contributors", "engines", "dependencies",
})


# -- component paths --------------------------------------------------------------------------

def _path_list(value: Any, key: str, label: str, problems: list[Problem]) -> list[str] | None:
    """A component path given as a string or a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(error(label, key, "expected a path or a list of paths relative to the plugin folder"))
    return None


def _safe_paths(folder: Path, paths: list[str], key: str, label: str, problems: list[Problem]) -> list[str]:
    ok: list[str] = []
    for rel in paths:
        reason = path_escape_reason(folder, rel)
        if reason:
            problems.append(error(label, key, f"{reason}; component paths must stay inside the plugin"))
        else:
            ok.append(rel.removeprefix("./").rstrip("/") or ".")
    return ok


# -- components -----------------------------------------------------------------------------------

def _components(folder: Path, plugin_id: str, extra_dirs: dict[str, list[str]],
                problems: list[Problem]) -> list[Capability]:
    """Skills/commands/agents from the default folders plus any custom paths (they add, not replace)."""
    caps: list[Capability] = []
    for kind in KINDS:
        default_dir = CLAUDE_COMPONENT_DIRS[kind]
        dirs = [default_dir] + [d for d in extra_dirs.get(kind, []) if d != default_dir]
        seen: set[Path] = set()
        for rel in dict.fromkeys(dirs):
            if rel == default_dir and (reason := path_escape_reason(folder, rel)):
                problems.append(error(folder.name, rel, f"{reason}; its {kind}s are not loaded"))
                continue
            for entry in scan_folder(kind, folder / rel, namespace=plugin_id, source=plugin_id, base=folder):
                if entry.path in seen:
                    continue
                seen.add(entry.path)
                problems.extend(p if p.severity == "warning" else p.model_copy(update={"severity": "warning"})
                                for p in entry.problems)
                if entry.usable:
                    caps.append(Capability(type=kind, name=entry.name, description=entry.description,  # type: ignore[arg-type]
                                           details={"path": entry.path.relative_to(folder).as_posix()}))
    return caps


def _caps_from_file(folder: Path, rel: str, problems: list[Problem], what: str,
                    parse: Callable[[Any, str, list[Problem]], list[Capability]], *, required: bool) -> list[Capability]:
    """The capabilities a JSON file beside the manifest declares (`what`: the file's name in a problem)."""
    path = folder / rel
    if not path.is_file():
        if required:
            problems.append(error(rel, "", f"the {what} named in the manifest does not exist"))
        return []
    data, unreadable = read_json(path, rel)
    if unreadable:
        problems.extend(unreadable)
        return []
    return parse(data, rel, problems)


def _hooks_from_file(folder: Path, rel: str, problems: list[Problem], *, required: bool) -> list[Capability]:
    return _caps_from_file(folder, rel, problems, "hooks file",
                           lambda data, f, p: parse_hooks_object(data, f, p, wrapped=True), required=required)


def _mcp_from_file(folder: Path, rel: str, problems: list[Problem], *, required: bool) -> list[Capability]:
    return _caps_from_file(folder, rel, problems, "MCP servers file", parse_mcp_object, required=required)


def _build(folder: Path, *, plugin_id: str, name: str, fmt: str, manifest_file: str, kind: str,
           caps: list[Capability], problems: list[Problem], **fields: Any) -> ParseResult:
    try:  # the scope (command hooks and stdio servers: shell; remote servers: their hosts) is derived there
        manifest = PluginManifest.model_validate(
            {"id": plugin_id, "name": name, "format": fmt, "manifest_file": manifest_file, "kind": kind,
             "capabilities": caps, **fields}, context={"root": folder})
    except ValidationError as exc:
        first = exc.errors()[0]
        problems.append(error(manifest_file, ".".join(str(p) for p in first["loc"]), first["msg"]))
        manifest = None
    return ParseResult(manifest=manifest, problems=problems, format=fmt, manifest_file=manifest_file,  # type: ignore[arg-type]
                       fallback_id=plugin_id)


def _folder_id(folder: Path) -> str:
    return sanitize_id(folder.name) or "plugin"


# -- the three entry points --------------------------------------------------------------------------

def parse_claude_plugin(folder: Path, manifest_file: str) -> ParseResult:
    """A Claude Code plugin: `.claude-plugin/plugin.json`, `cc-plugin.json` or `claude-plugin/plugin.json`."""
    problems: list[Problem] = []
    label = manifest_file
    data, unreadable = read_json(folder / manifest_file, label)
    fallback = _folder_id(folder)
    if unreadable:
        return ParseResult(problems=unreadable, format="claude", manifest_file=manifest_file, fallback_id=fallback)
    if not isinstance(data, dict):
        return ParseResult(problems=[error(label, "", f"expected a JSON object, found a JSON {json_kind(data)}")],
                           format="claude", manifest_file=manifest_file, fallback_id=fallback)
    raw_name = data.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        problems.append(error(label, "name", "is required: the plugin's name (used as its id)"))
        plugin_id, name = fallback, folder.name
    else:
        plugin_id, name = sanitize_id(raw_name), raw_name.strip()
        if not plugin_id:
            problems.append(error(label, "name", f"'{raw_name}' has no letters to make an id from"))
            plugin_id = fallback
        elif plugin_id != raw_name:
            problems.append(warning(label, "name", f"'{raw_name}' is used as the id '{plugin_id}'"))
    for key in data:
        if key not in KNOWN_PLUGIN_KEYS:
            problems.append(warning(label, key, "unknown key; it is ignored"))
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        problems.append(warning(label, "version", "expected a string; using 0.0.0"))
        version = None
    author = data.get("author", "")
    if isinstance(author, dict):
        author = str(author.get("name", ""))
    description = data.get("description", "")

    extra_dirs: dict[str, list[str]] = {}
    for kind in KINDS:
        key = MANIFEST_KEY[kind]
        if key in data:
            paths = _path_list(data[key], key, label, problems)
            if paths is not None:
                extra_dirs[kind] = _safe_paths(folder, paths, key, label, problems)
    caps = _components(folder, plugin_id, extra_dirs, problems)

    hook_files = [CLAUDE_HOOKS]
    if "hooks" in data:
        if isinstance(data["hooks"], dict):
            caps.extend(parse_hooks_object(data["hooks"], label, problems, wrapped=False))
        else:
            paths = _path_list(data["hooks"], "hooks", label, problems)
            hook_files += _safe_paths(folder, paths or [], "hooks", label, problems)
    for i, rel in enumerate(dict.fromkeys(hook_files)):
        caps.extend(_hooks_from_file(folder, rel, problems, required=i > 0))

    mcp_files = [MCP_FILE]
    if "mcpServers" in data:
        if isinstance(data["mcpServers"], dict):
            caps.extend(parse_mcp_object({"mcpServers": data["mcpServers"]}, label, problems))
        else:
            paths = _path_list(data["mcpServers"], "mcpServers", label, problems)
            mcp_files += _safe_paths(folder, paths or [], "mcpServers", label, problems)
    for i, rel in enumerate(dict.fromkeys(mcp_files)):
        caps.extend(_mcp_from_file(folder, rel, problems, required=i > 0))

    return _build(folder, plugin_id=plugin_id, name=name, fmt="claude", manifest_file=manifest_file,
                  kind="claude", caps=caps, problems=problems, version=version or "0.0.0",
                  description=description if isinstance(description, str) else "",
                  author=author if isinstance(author, str) else "",
                  homepage=data.get("homepage") if isinstance(data.get("homepage"), str) else "")


def parse_claude_layout(folder: Path) -> ParseResult:
    """A Claude-style folder with no manifest: id and name from the folder."""
    problems: list[Problem] = []
    plugin_id = _folder_id(folder)
    caps = _components(folder, plugin_id, {}, problems)
    caps.extend(_hooks_from_file(folder, CLAUDE_HOOKS, problems, required=False))
    caps.extend(_mcp_from_file(folder, MCP_FILE, problems, required=False))
    if not caps and not has_errors(problems):
        problems.append(warning(folder.name, "", "has skills/, commands/ or agents/ folders but nothing usable "
                                                 "in them"))
    return _build(folder, plugin_id=plugin_id, name=folder.name, fmt="claude-layout", manifest_file="",
                  kind="claude", caps=caps, problems=problems)


def parse_mcp_only(folder: Path) -> ParseResult:
    """A folder holding only `.mcp.json`: each server is an `mcp_server` capability."""
    problems: list[Problem] = []
    plugin_id = _folder_id(folder)
    caps = _mcp_from_file(folder, MCP_FILE, problems, required=True)
    if not caps and not has_errors(problems):
        problems.append(warning(MCP_FILE, "mcpServers", "declares no servers"))
    return _build(folder, plugin_id=plugin_id, name=folder.name, fmt="mcp-json", manifest_file=MCP_FILE,
                  kind="mcp", caps=caps, problems=problems)
