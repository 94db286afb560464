"""MCP servers declared by plugins (`.mcp.json` / inline `mcpServers`).

Config values may use `${VAR}`, `${VAR:-default}` and `${CLAUDE_PLUGIN_ROOT}`; the app also sets
`ALEPH_PYTHON` (its own interpreter) so a Python server can run with the app's packages. A stdio
server is started with the official `mcp` SDK (`mcp.client.stdio`) to list or call its tools; it
runs as the user, which is why such a plugin's scope says `shell` and needs review first.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import PluginCallError, PluginNotRunnable, PluginTimeout, ReviewRequired
from aleph_gui.core.manifest.claude_mcp import server_transport

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
STDERR_TAIL = 600  # characters of the server's stderr quoted in an error


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
    """The variables a server config is expanded with (and that a stdio server inherits)."""
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


def _tool_json(tool: Any) -> dict[str, Any]:
    schema = getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", None) or {}
    return {"name": tool.name, "description": tool.description or "", "input_schema": schema}


class _Session:
    """Start one stdio server, initialise an SDK client session, stop it on exit."""

    def __init__(self, plugin_root: Path, server_name: str, server_config: Mapping[str, Any],
                 plugin_id: str | None, timeout: float) -> None:
        self.root, self.name, self.plugin_id, self.timeout = plugin_root, server_name, plugin_id, timeout
        cfg, missing = expand_server(server_config, plugin_root=plugin_root)
        who = f"MCP server '{server_name}'"
        if cfg["type"] != "stdio":
            raise McpServerError(plugin_id, f"{who} is a remote {cfg['type']} server at {cfg.get('url') or '(no url)'}; "
                                            "only stdio servers can be started by this app")
        if not cfg.get("command"):
            hint = f" (unset: {', '.join(missing)})" if missing else ""
            raise McpServerError(plugin_id, f"{who} has no command to run{hint}")
        if missing:
            log.info("%s: %s uses unset variables %s", plugin_id, who, ", ".join(missing))
        self.config = cfg

    async def run(self, action: Any) -> Any:
        import anyio
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        env = server_env(self.root)
        env.update({k: str(v) for k, v in (self.config.get("env") or {}).items()})
        params = StdioServerParameters(command=self.config["command"], args=list(self.config.get("args") or []),
                                       env=env, cwd=str(self.root))
        who = f"MCP server '{self.name}'"
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
            try:
                with anyio.fail_after(self.timeout):
                    async with stdio_client(params, errlog=errlog) as (read, write), \
                            ClientSession(read, write) as session:
                        await session.initialize()
                        return await action(session)
            except TimeoutError as exc:
                raise PluginTimeout(self.plugin_id, f"{who} did not answer within {self.timeout:g} s"
                                                    f"{_tail(errlog)}") from exc
            except FileNotFoundError as exc:
                raise McpServerError(self.plugin_id, f"{who}: the command '{self.config['command']}' was not "
                                                     "found") from exc
            except McpServerError:
                raise
            except Exception as exc:  # the SDK raises many kinds (closed streams, protocol errors)
                raise McpServerError(self.plugin_id, f"{who} failed: {_reason(exc)}{_tail(errlog)}") from exc


def _reason(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # ExceptionGroup from the SDK's task group
    if inner:
        return _reason(inner[0])
    return str(exc) or type(exc).__name__


def _tail(errlog: Any) -> str:
    try:
        errlog.seek(0)
        text = errlog.read().strip()
    except (OSError, ValueError):
        return ""
    return f"; its error output ends with: {text[-STDERR_TAIL:]}" if text else ""


async def list_tools(plugin_root: Path, server_name: str, server_config: Mapping[str, Any], *,
                     plugin_id: str | None = None, timeout: float = DEFAULT_TIMEOUT_S) -> list[dict[str, Any]]:
    """Start a stdio server, list its tools (`name`, `description`, `input_schema`) and stop it."""
    async def action(session: Any) -> list[dict[str, Any]]:
        result = await session.list_tools()
        return [_tool_json(t) for t in result.tools]
    return await _Session(Path(plugin_root), server_name, server_config, plugin_id, timeout).run(action)  # type: ignore[no-any-return]


async def call_tool(plugin_root: Path, server_name: str, server_config: Mapping[str, Any], tool: str,
                    arguments: dict[str, Any] | None = None, *, plugin_id: str | None = None,
                    timeout: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Start a stdio server and call one tool: `{"is_error", "content": [text...], "structured"}`."""
    async def action(session: Any) -> dict[str, Any]:
        result = await session.call_tool(tool, arguments or {})
        texts = [getattr(c, "text", str(c)) for c in result.content]
        structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
        return {"is_error": bool(getattr(result, "is_error", getattr(result, "isError", False))),
                "content": texts, "structured": structured}
    return await _Session(Path(plugin_root), server_name, server_config, plugin_id, timeout).run(action)  # type: ignore[no-any-return]


async def list_tools_of_plugin(manager: Any, plugin_id: str, server_name: str, *,
                               timeout: float = DEFAULT_TIMEOUT_S) -> list[dict[str, Any]]:
    """`aleph-ext mcp tools ID SERVER`: start one MCP server of an approved, enabled plugin."""
    info = manager.plugin(plugin_id)  # raises UnknownPlugin
    if info.state == "needs_review":
        raise ReviewRequired(plugin_id, f"its MCP servers run programs as you; approve it first "
                                        f"(aleph-ext grant {plugin_id})")
    if info.state != "enabled" or info.manifest is None:
        raise PluginNotRunnable(plugin_id, f"is {info.state}{': ' + info.state_reason if info.state_reason else ''}")
    servers = {c.name: c for c in info.manifest.of_type("mcp_server")}
    if server_name not in servers:
        known = ", ".join(sorted(servers)) or "none"
        raise McpServerError(plugin_id, f"has no MCP server named '{server_name}' (its servers: {known})")
    return await list_tools(Path(info.path), server_name, servers[server_name].details, plugin_id=plugin_id,
                            timeout=timeout)
