"""Which manifest a plugin folder has, and which parser reads it.

Detection order (DESIGN.md § Manifests), first match wins:
`aleph.plugin.toml` / `plugin.toml` -> `aleph.plugin.json` / `plugin.json` -> `package.json` with an
`"aleph"` key -> `.claude-plugin/plugin.json` / `cc-plugin.json` -> a Claude-style layout with no
manifest (`skills/`, `commands/`, `agents/`, `hooks/hooks.json`) -> `.mcp.json` alone.
The Claude formats live in `claude.py`, imported lazily so Aleph-only inventories never pay for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import ModuleType

from aleph_gui.core.manifest.ids import sanitize_id
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.problems import error

TOML_NAMES = ("aleph.plugin.toml", "plugin.toml")
JSON_NAMES = ("aleph.plugin.json", "plugin.json")
# `claude-plugin/plugin.json` (no dot) is how some repositories store test fixtures; accepted last.
CLAUDE_MANIFESTS = (".claude-plugin/plugin.json", "cc-plugin.json", "claude-plugin/plugin.json")
CLAUDE_LAYOUT_DIRS = ("skills", "commands", "agents")
CLAUDE_HOOKS = "hooks/hooks.json"
MCP_FILE = ".mcp.json"


def _isfile(folder: Path, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name))


def _claude_module() -> ModuleType | None:
    try:
        from aleph_gui.core.manifest import claude
    except ImportError:
        return None
    return claude


def _looks_like_claude_layout(folder: Path) -> bool:
    claude = _claude_module()
    if claude is not None:
        return bool(claude.looks_like_claude_layout(folder))
    return any(os.path.isdir(os.path.join(folder, d)) for d in CLAUDE_LAYOUT_DIRS) or _isfile(folder, CLAUDE_HOOKS)


def _package_json_is_aleph(folder: Path) -> bool:
    from aleph_gui.core.manifest.package_json import has_aleph_key

    return has_aleph_key(folder / "package.json")


def has_manifest(folder: Path) -> bool:
    """Cheap check (existence, plus a peek into package.json) used to tell plugins from monorepos."""
    if any(_isfile(folder, n) for n in TOML_NAMES + JSON_NAMES):
        return True
    if _isfile(folder, "package.json") and _package_json_is_aleph(folder):
        return True
    if any(_isfile(folder, n) for n in CLAUDE_MANIFESTS):
        return True
    return _looks_like_claude_layout(folder) or _isfile(folder, MCP_FILE)


def _claude_unavailable(folder: Path, file: str) -> ParseResult:
    return ParseResult(problems=[error(file, "", "Claude Code plugins cannot be read: the Claude format "
                                                 "support (aleph_gui.core.manifest.claude) is missing")],
                       format="claude", manifest_file=file, fallback_id=sanitize_id(folder.name) or folder.name)


def _root_plugin_json_is_claude(folder: Path) -> bool:
    """A root `plugin.json` shaped for Claude Code, when a real Claude manifest sits beside it."""
    from aleph_gui.core.manifest.aleph_json import looks_like_claude_manifest

    if not any(_isfile(folder, n) for n in CLAUDE_MANIFESTS):
        return False
    try:
        doc = json.loads((folder / "plugin.json").read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return looks_like_claude_manifest(doc)


def load_plugin_folder(folder: Path) -> ParseResult:
    """Detect the folder's manifest and parse it; never raises."""
    folder = Path(folder)
    for name in TOML_NAMES:
        if _isfile(folder, name):
            from aleph_gui.core.manifest.aleph_toml import parse_aleph_toml

            return parse_aleph_toml(folder, name)
    for name in JSON_NAMES:
        if _isfile(folder, name):
            if name == "plugin.json" and _root_plugin_json_is_claude(folder):
                break  # e.g. EveryInc's repo root: the .claude-plugin manifest is the real one
            from aleph_gui.core.manifest.aleph_json import parse_aleph_json

            return parse_aleph_json(folder, name)
    if _isfile(folder, "package.json") and _package_json_is_aleph(folder):
        from aleph_gui.core.manifest.package_json import parse_package_json

        return parse_package_json(folder, "package.json")
    for name in CLAUDE_MANIFESTS:
        if _isfile(folder, name):
            claude = _claude_module()
            return claude.parse_claude_plugin(folder, name) if claude else _claude_unavailable(folder, name)
    if _looks_like_claude_layout(folder):
        claude = _claude_module()
        return claude.parse_claude_layout(folder) if claude else _claude_unavailable(folder, folder.name)
    if _isfile(folder, MCP_FILE):
        claude = _claude_module()
        return claude.parse_mcp_only(folder) if claude else _claude_unavailable(folder, MCP_FILE)
    return ParseResult(problems=[error(folder.name, "", "no plugin manifest found in this folder (expected "
                                                        "aleph.plugin.toml, plugin.json, package.json with "
                                                        "\"aleph\", .claude-plugin/plugin.json or .mcp.json)")],
                       fallback_id=sanitize_id(folder.name) or folder.name)


def load_manifest_file(path: Path) -> ParseResult:
    """Parse one manifest file named on the command line (`aleph-ext validate FILE`)."""
    path = Path(path)
    if not path.exists():
        return ParseResult(problems=[error(str(path), "", "does not exist")], fallback_id="")
    if path.is_dir():
        return load_plugin_folder(path)
    name = path.name
    folder = path.parent
    if path.parent.name in (".claude-plugin", "claude-plugin") and name == "plugin.json":
        claude = _claude_module()
        file = f"{path.parent.name}/{name}"
        return claude.parse_claude_plugin(folder.parent, file) if claude else \
            _claude_unavailable(folder.parent, file)
    if name == "cc-plugin.json":
        claude = _claude_module()
        return claude.parse_claude_plugin(folder, name) if claude else _claude_unavailable(folder, name)
    if name == MCP_FILE:
        claude = _claude_module()
        return claude.parse_mcp_only(folder) if claude else _claude_unavailable(folder, name)
    if name == "package.json":
        from aleph_gui.core.manifest.package_json import parse_package_json

        return parse_package_json(folder, name)
    if name.endswith(".toml"):
        from aleph_gui.core.manifest.aleph_toml import parse_aleph_toml

        return parse_aleph_toml(folder, name)
    if name.endswith(".json"):
        from aleph_gui.core.manifest.aleph_json import parse_aleph_json

        return parse_aleph_json(folder, name)
    return ParseResult(problems=[error(name, "", "is not a manifest file: expected a .toml or .json manifest, "
                                                 "package.json or .mcp.json")],
                       fallback_id=sanitize_id(folder.name) or folder.name)
