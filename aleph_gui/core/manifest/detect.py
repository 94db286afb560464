"""Which manifest a plugin folder has, and which parser reads it.

Detection order (DESIGN.md § Manifests), first match wins:
`aleph.plugin.toml` / `plugin.toml` -> `aleph.plugin.json` / `plugin.json` -> `package.json` with an
`"aleph"` key -> `.claude-plugin/plugin.json` / `cc-plugin.json` -> a Claude-style layout with no
manifest (`skills/`, `commands/`, `agents/`, `hooks/hooks.json`) -> `.mcp.json` alone.
Each parser is imported lazily (Claude formats in `claude.py`), so Aleph-only inventories never pay
for the others.
"""

from __future__ import annotations

import os
from pathlib import Path

from aleph_gui.core.manifest.ids import sanitize_id
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.problems import error

TOML_NAMES = ("aleph.plugin.toml", "plugin.toml")
JSON_NAMES = ("aleph.plugin.json", "plugin.json")
# `claude-plugin/plugin.json` (no dot) is how some repositories store test fixtures; accepted last.
CLAUDE_MANIFESTS = (".claude-plugin/plugin.json", "cc-plugin.json", "claude-plugin/plugin.json")
# Where a Claude Code plugin keeps each kind of component when its manifest does not say.
CLAUDE_COMPONENT_DIRS = {"skill": "skills", "command": "commands", "agent": "agents"}
CLAUDE_HOOKS = "hooks/hooks.json"
MCP_FILE = ".mcp.json"


def _isfile(folder: Path, name: str) -> bool:
    return os.path.isfile(os.path.join(folder, name))


class _Names:
    """Which candidate files a folder holds, asked lazily in detection order.

    One stat per question: in the common case (a TOML manifest) that is a single system call,
    cheaper than listing the folder.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = str(folder)
        self._known: dict[str, bool] = {}

    def __contains__(self, name: object) -> bool:
        assert isinstance(name, str)
        if name not in self._known:
            self._known[name] = os.path.exists(os.path.join(self._folder, name))
        return self._known[name]


def _names(folder: Path) -> _Names:
    return _Names(folder)


def _has_claude_manifest(folder: Path, names: _Names) -> str | None:
    for name in CLAUDE_MANIFESTS:
        if name.split("/", 1)[0] in names and _isfile(folder, name):
            return name
    return None


def looks_like_claude_layout(folder: Path) -> bool:
    """Cheap check: a folder with skills/, commands/, agents/ or hooks/hooks.json (and no manifest)."""
    return any(os.path.isdir(os.path.join(folder, d)) for d in CLAUDE_COMPONENT_DIRS.values()) or \
        _isfile(folder, CLAUDE_HOOKS)


def _aleph_package(folder: Path) -> dict | None:
    """package.json's content when it has an "aleph" key (only such files are manifests)."""
    from aleph_gui.core.manifest.package_json import read_aleph_package

    return read_aleph_package(folder / "package.json")


def has_manifest(folder: Path) -> bool:
    """Cheap check (existence, plus a peek into package.json) used to tell plugins from monorepos."""
    names = _names(folder)
    if any(n in names for n in TOML_NAMES + JSON_NAMES):
        return True
    if "package.json" in names and _aleph_package(folder) is not None:
        return True
    if _has_claude_manifest(folder, names):
        return True
    return looks_like_claude_layout(folder) or MCP_FILE in names


def load_plugin_folder(folder: Path) -> ParseResult:
    """Detect the folder's manifest and parse it; never raises."""
    folder = Path(folder)
    names = _names(folder)
    for name in TOML_NAMES:
        if name in names:
            from aleph_gui.core.manifest.aleph_toml import parse_aleph_toml

            return parse_aleph_toml(folder, name)
    for name in JSON_NAMES:
        if name in names:
            from aleph_gui.core.manifest.aleph_json import (
                load_json,
                looks_like_claude_manifest,
                parse_aleph_json,
            )

            doc, problems = load_json(folder / name, name)
            if name == "plugin.json" and looks_like_claude_manifest(doc) and _has_claude_manifest(folder, names):
                break  # e.g. EveryInc's repo root: the .claude-plugin manifest beside it is the real one
            return parse_aleph_json(folder, name, doc=doc, problems=problems)
    if "package.json" in names:
        package = _aleph_package(folder)
        if package is not None:
            from aleph_gui.core.manifest.package_json import parse_package_json

            return parse_package_json(folder, "package.json", doc=package)
    claude_file = _has_claude_manifest(folder, names)
    if claude_file:
        from aleph_gui.core.manifest.claude import parse_claude_plugin

        return parse_claude_plugin(folder, claude_file)
    if looks_like_claude_layout(folder):
        from aleph_gui.core.manifest.claude import parse_claude_layout

        return parse_claude_layout(folder)
    if MCP_FILE in names:
        from aleph_gui.core.manifest.claude import parse_mcp_only

        return parse_mcp_only(folder)
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
        from aleph_gui.core.manifest.claude import parse_claude_plugin

        return parse_claude_plugin(folder.parent, f"{path.parent.name}/{name}")
    if name == "cc-plugin.json":
        from aleph_gui.core.manifest.claude import parse_claude_plugin

        return parse_claude_plugin(folder, name)
    if name == MCP_FILE:
        from aleph_gui.core.manifest.claude import parse_mcp_only

        return parse_mcp_only(folder)
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
