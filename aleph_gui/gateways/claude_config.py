"""Where Claude reads hooks and MCP servers, what Aleph's entries look like, and how to add or take them out.

Locations per scope (checked against https://code.claude.com/docs/en/hooks, /settings and /mcp as published
with Claude Code 2.1.288, October 2, 2026; Claude Desktop's file per OS from its MCP setup guide):

| scope     | hook entries                              | MCP server "aleph"                                       |
|-----------|-------------------------------------------|----------------------------------------------------------|
| `user`    | `~/.claude/settings.json`                 | `~/.claude.json`, top-level `mcpServers`                 |
| `project` | `<project>/.claude/settings.json`         | `<project>/.mcp.json`, `mcpServers`                      |
| `local`   | `<project>/.claude/settings.local.json`   | `~/.claude.json`, `projects["<abs project>"].mcpServers` |
| `desktop` | (Claude Desktop has no hooks)             | `claude_desktop_config.json`, `mcpServers`               |

Our entries are recognised by their exact command line, so removing them never touches what the user wrote.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aleph_gui.gateways.claude_protocol import MATCHERLESS_EVENTS, claude_events
from aleph_gui.gateways.json_settings import SettingsFileError

SCOPES = ("user", "project", "local", "desktop")
SERVER_NAME = "aleph"
HOOK_TIMEOUT_S = 60  # Claude's default is 600 s: a stuck relay must not stall every tool call for ten minutes
HOOK_TIMEOUTS_S = {"SessionEnd": 10}  # Claude waits for SessionEnd hooks while quitting


def desktop_config_path(home: Path, platform: str = sys.platform) -> Path:
    """Claude Desktop's config file for `home` (Windows: %APPDATA% is taken as home/AppData/Roaming)."""
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if platform.startswith("win"):
        return home / "AppData" / "Roaming" / "Claude" / "claude_desktop_config.json"
    return home / ".config" / "Claude" / "claude_desktop_config.json"  # Linux builds of Claude Desktop


def aleph_ext_command(aleph_home: str | None = None) -> list[str]:
    """The absolute command line that starts this aleph-ext, plus `--home DIR` when one was given."""
    exe_name = "aleph-ext.exe" if sys.platform.startswith("win") else "aleph-ext"
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    candidates = [argv0 if argv0 is not None and argv0.name == exe_name else None,
                  Path(sys.executable).parent / exe_name]
    found = shutil.which("aleph-ext")
    candidates.append(Path(found) if found else None)
    command = next(([str(c.absolute())] for c in candidates if c is not None and c.is_file()),
                   [sys.executable, "-m", "aleph_gui"])
    if aleph_home:
        command += ["--home", str(Path(aleph_home).expanduser().absolute())]
    return command


def hook_command(command: list[str]) -> str:
    """The shell command placed in Claude's settings for every hook event."""
    return shlex.join([*command, "claude", "hook"])


def server_entry(command: list[str]) -> dict[str, Any]:
    """The MCP server entry (stdio: an entry without `type` is a stdio server to Claude Code and Desktop)."""
    return {"command": command[0], "args": [*command[1:], "mcp", "serve"]}


def hook_group(event: str, command: list[str]) -> dict[str, Any]:
    handler = {"type": "command", "command": hook_command(command),
               "timeout": HOOK_TIMEOUTS_S.get(event, HOOK_TIMEOUT_S)}
    return {"hooks": [handler]} if event in MATCHERLESS_EVENTS else {"matcher": "*", "hooks": [handler]}


@dataclass(frozen=True)
class Target:
    """One file and what goes into it: hook entries, and/or the server at a key path."""

    path: Path
    hooks: bool
    server_at: tuple[str, ...] | None  # the path of the `mcpServers` object, or None


def targets(scope: str, home: Path, project: Path) -> list[Target]:
    if scope not in SCOPES:
        raise SettingsFileError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    claude_json = home / ".claude.json"
    if scope == "user":
        return [Target(home / ".claude" / "settings.json", True, None),
                Target(claude_json, False, ("mcpServers",))]
    if scope == "project":
        return [Target(project / ".claude" / "settings.json", True, None),
                Target(project / ".mcp.json", False, ("mcpServers",))]
    if scope == "local":
        return [Target(project / ".claude" / "settings.local.json", True, None),
                Target(claude_json, False, ("projects", str(project.resolve()), "mcpServers"))]
    return [Target(desktop_config_path(home), False, ("mcpServers",))]


# -- editing one document ---------------------------------------------------------------------------


def _container(doc: dict[str, Any], keys: tuple[str, ...], path: Path, create: bool) -> dict[str, Any] | None:
    node: Any = doc
    for i, key in enumerate(keys):
        child = node.get(key)
        if child is None:
            if not create:
                return None
            child = node[key] = {}
        if not isinstance(child, dict):
            where = ".".join(f'"{k}"' for k in keys[: i + 1])
            raise SettingsFileError(f"{path} has {where} as a JSON {type(child).__name__}, not an object; "
                                    f"fix or move it, then run this again — nothing was changed")
        node = child
    return node


def _handlers(groups: list[Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(group, handler) pairs of well-formed matcher groups; anything else is Claude's to complain about."""
    return [(g, h) for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)
            for h in g["hooks"] if isinstance(h, dict)]


def _is_aleph_hook(text: Any) -> bool:
    try:
        argv = shlex.split(text) if isinstance(text, str) else []
    except ValueError:
        return False
    return len(argv) >= 3 and argv[-2:] == ["claude", "hook"] and (
        Path(argv[0]).name.startswith("aleph-ext") or "aleph_gui" in argv)


def add_entries(doc: dict[str, Any], target: Target, command: list[str]) -> None:
    """Add what `target` needs to `doc` (in place). Raises SettingsFileError on a conflict or a wrong shape."""
    if target.hooks:
        ours = hook_command(command)
        hooks = _container(doc, ("hooks",), target.path, create=False)
        for event in claude_events():
            groups = (hooks or {}).get(event)
            if groups is not None and not isinstance(groups, list):
                raise SettingsFileError(f'{target.path} has "hooks"."{event}" as a JSON {type(groups).__name__}, '
                                        f"not a list; fix or move it, then run this again — nothing was changed")
            commands = [h.get("command") for _, h in _handlers(groups or [])]
            if ours in commands:
                continue
            other = next((c for c in commands if _is_aleph_hook(c)), None)
            if other is not None:
                raise SettingsFileError(f"{target.path} already runs Aleph's hooks with another command ({other}); "
                                        f"uninstall that one first — nothing was changed")
            hooks = _container(doc, ("hooks",), target.path, create=True)
            assert hooks is not None
            hooks.setdefault(event, []).append(hook_group(event, command))
    if target.server_at is not None:
        entry = server_entry(command)
        servers = _container(doc, target.server_at, target.path, create=False)
        present = (servers or {}).get(SERVER_NAME)
        if present is not None and present != entry:
            raise SettingsFileError(f'{target.path} already has an MCP server named "{SERVER_NAME}" that runs '
                                    f"{json.dumps(present)}; remove or rename it, then run this again — "
                                    f"nothing was changed")
        if present is None:
            servers = _container(doc, target.server_at, target.path, create=True)
            assert servers is not None
            servers[SERVER_NAME] = entry


def _present(doc: dict[str, Any] | None, keys: tuple[str, ...]) -> bool:
    node: Any = doc
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def remove_entries(doc: dict[str, Any], target: Target, command: list[str], *, prune: bool,
                   like: dict[str, Any] | None = None) -> None:
    """Take out exactly our entries (in place).

    `prune` also drops the containers they leave empty — all of them, or with `like` (the document as it was
    before install) only those `like` does not have, so an empty `"hooks": {}` the user had stays.
    """

    def drop(keys: tuple[str, ...]) -> bool:
        return prune and not (like is not None and _present(like, keys))

    if target.hooks:
        ours = hook_command(command)
        hooks = _container(doc, ("hooks",), target.path, create=False)
        for event, groups in list((hooks or {}).items()):
            if not isinstance(groups, list):
                continue
            kept_groups, touched = [], False
            for group in groups:
                handlers = group.get("hooks") if isinstance(group, dict) else None
                if isinstance(handlers, list):
                    kept = [h for h in handlers if not (isinstance(h, dict) and h.get("command") == ours)]
                    if len(kept) != len(handlers):
                        touched = True
                        if not kept:
                            continue  # the group held only our handler: it was ours
                        group["hooks"] = kept
                kept_groups.append(group)
            groups[:] = kept_groups
            if touched and not groups and hooks is not None and drop(("hooks", event)):
                del hooks[event]
                if not hooks and drop(("hooks",)):
                    del doc["hooks"]
    if target.server_at is not None:
        servers = _container(doc, target.server_at, target.path, create=False)
        if servers is not None and servers.get(SERVER_NAME) == server_entry(command):
            del servers[SERVER_NAME]
            keys = target.server_at  # then `mcpServers`, `projects[path]`, `projects`, while empty
            for depth in range(len(keys), 0, -1):
                parent = _container(doc, keys[: depth - 1], target.path, create=False)
                if parent is None or parent.get(keys[depth - 1]) != {} or not drop(keys[:depth]):
                    break
                del parent[keys[depth - 1]]
