"""MCP server configs declared by plugins (`.mcp.json` / inline `mcpServers`), expanded.

Config values may use `${VAR}`, `${VAR:-default}` and `${CLAUDE_PLUGIN_ROOT}`; the app also sets
`ALEPH_PYTHON` (its own interpreter) so a Python server can run with the app's packages. The host
runs the servers (`runtime/mcp_servers.py`); a server runs programs, which is why such a plugin's
scope says `shell` and needs review first.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import PluginCallError
from aleph_gui.core.manifest.claude_mcp import server_transport

log = logging.getLogger(__name__)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class McpServerError(PluginCallError):
    """An MCP server could not be configured, started or asked."""


def expand(value: str, env: Mapping[str, str], missing: list[str] | None = None) -> str:
    """`${VAR}` / `${VAR:-default}` from `env`. Unset variables without default expand to '' and
    are appended to `missing`."""
    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        if missing is not None and name not in missing:
            missing.append(name)
        return ""
    return _VAR.sub(repl, value)


def server_env(plugin_root: Path | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a server config is expanded with (`${VAR}` may name any of the user's variables:
    that is how a config hands a server its token). A server process gets `process_env` instead."""
    env = dict(os.environ if base is None else base)
    # In the packaged app sys.executable is the app itself, not a Python: `${ALEPH_PYTHON:-python3}` falls back.
    if not getattr(sys, "frozen", False):
        env.setdefault("ALEPH_PYTHON", sys.executable)
    if plugin_root is not None:
        env["CLAUDE_PLUGIN_ROOT"] = str(plugin_root)
    env.setdefault("CLAUDE_PROJECT_DIR", os.getcwd())
    return env


def expand_server(config: Mapping[str, Any], env: Mapping[str, str] | None = None,
                  plugin_root: Path | None = None) -> tuple[dict[str, Any], list[str]]:
    """A server config with every string expanded; also the variables that were not set."""
    variables = server_env(plugin_root, env)
    missing: list[str] = []
    out: dict[str, Any] = dict(config)
    out["type"] = server_transport(dict(config))
    for key in ("command", "url", "cwd"):
        if isinstance(config.get(key), str):
            out[key] = expand(config[key], variables, missing)
    if isinstance(config.get("args"), list):
        out["args"] = [expand(str(a), variables, missing) for a in config["args"]]
    for key in ("env", "headers"):
        if isinstance(config.get(key), dict):
            out[key] = {str(k): expand(str(v), variables, missing) for k, v in config[key].items()}
    return out, missing


async def list_tools_of_plugin(manager: Any, plugin_id: str, server_name: str) -> list[dict[str, Any]]:
    """`aleph-ext mcp tools ID SERVER`: the tools of one of a plugin's MCP servers (started on first use)."""
    tools = await manager.mcp_tools(plugin_id, server_name)
    return [{"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in tools]
