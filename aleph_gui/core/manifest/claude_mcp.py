"""`.mcp.json` (or a plugin.json's inline `mcpServers`): each MCP server becomes an `mcp_server` capability.

`{"mcpServers": {name: {command, args, env} | {type: "http" | "sse", url, headers}}}`, or a flat map
of servers. A stdio server runs a program as the user; a remote one reaches its host.
"""

from __future__ import annotations

from typing import Any

from aleph_gui.core.manifest.model import Capability
from aleph_gui.core.manifest.reading import decode_json
from aleph_gui.core.manifest.requested import server_transport
from aleph_gui.core.manifest.wording import json_kind
from aleph_gui.core.problems import Problem, error, warning

__all__ = ["parse_mcp_json", "parse_mcp_object", "server_transport"]


def _server_capability(name: str, config: Any, file: str, problems: list[Problem]) -> Capability | None:
    field = f"mcpServers.{name}"
    if not isinstance(config, dict):
        problems.append(warning(file, field, f"is a {json_kind(config)}, not a server object; it is skipped"))
        return None
    transport = server_transport(config)
    if transport == "stdio":
        if not isinstance(config.get("command"), str) or not config["command"].strip():
            problems.append(error(file, f"{field}.command", "a stdio server needs a 'command' string"))
            return None
        args = config.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            problems.append(error(file, f"{field}.args", "expected a list of strings"))
            return None
        desc = f"stdio: {config['command']} {' '.join(str(a) for a in args)}".strip()
    elif transport in ("http", "sse"):
        url = config.get("url")
        if not isinstance(url, str):
            problems.append(error(file, f"{field}.url", f"an {transport} server needs a 'url' string"))
            return None
        if not url.strip():
            problems.append(warning(file, f"{field}.url", "is empty; this server cannot be reached until it is set"))
        desc = f"{transport}: {url}"
    else:
        problems.append(error(file, field, f"unknown server type {config.get('type')!r}; expected stdio, http "
                                           "or sse"))
        return None
    for key in ("env", "headers"):
        if key in config and not (isinstance(config[key], dict)
                                  and all(isinstance(v, (str, int, float)) for v in config[key].values())):
            problems.append(error(file, f"{field}.{key}", "expected an object of string values"))
            return None
    details = dict(config)
    details.setdefault("type", transport)
    return Capability(type="mcp_server", name=name, description=desc, details=details)


def parse_mcp_object(data: Any, file: str, problems: list[Problem]) -> list[Capability]:
    """`{"mcpServers": {...}}` or a flat server map. Non-object entries (`_comment`) are skipped."""
    if not isinstance(data, dict):
        problems.append(error(file, "", f"expected an object {{\"mcpServers\": {{...}}}}, found a JSON "
                                        f"{json_kind(data)}"))
        return []
    wrapped = "mcpServers" in data
    servers = data["mcpServers"] if wrapped else data
    if not isinstance(servers, dict):
        problems.append(error(file, "mcpServers", "expected an object mapping server names to servers"))
        return []
    caps: list[Capability] = []
    for name, config in servers.items():
        cap = _server_capability(str(name), config, file, problems)
        if cap is not None:
            caps.append(cap)
    for key in (k for k in data if k != "mcpServers") if wrapped else ():
        problems.append(warning(file, key, "unknown key next to 'mcpServers'; it is ignored"))
    return caps


def parse_mcp_json(text: str, file: str) -> tuple[list[Capability], list[Problem]]:
    """`.mcp.json` text -> one capability per server, and every problem seen."""
    data, problems = decode_json(text, file)
    if problems:
        return [], problems
    return parse_mcp_object(data, file, problems), problems
