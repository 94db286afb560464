"""What a plugin requests: its declared scope plus everything its manifest can make the app do.

Applied in one place, whenever a `PluginManifest` is built (its model validator), so every format
and every parser gets it:
  * a command hook or an MCP server with a command, anywhere -> `shell` (runs programs as you);
  * a remote MCP server -> network to its host (`any` when the host is only known at run time);
  * `kind = "nodejs"` -> `node_process` (the app starts a Node.js process for it);
  * `kind = "wasm"` -> `wasm_code` (the app loads and runs its WebAssembly code);
  * every file path canonical (`Scope.resolved`, relative paths inside the plugin folder).
See docs/scope-reference.md ("What makes a plugin need review").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlparse

from aleph_gui.core.scope import NetworkAccess, Scope


class _Declared(Protocol):  # the parts of a Capability read here (model.py imports this module)
    @property
    def type(self) -> str: ...

    @property
    def details(self) -> dict[str, Any]: ...


def server_transport(config: Mapping[str, Any]) -> str:
    """An MCP server's transport: stdio | http | sse (Claude's `streamable-http` counts as http)."""
    kind = str(config.get("type") or config.get("transport") or "").lower()
    if kind in ("sse",):
        return "sse"
    if kind in ("http", "streamable-http", "streamable_http"):
        return "http"
    if kind == "stdio" or "command" in config:
        return "stdio"
    return "http" if "url" in config else kind or "unknown"


def is_command_hook(cap: _Declared) -> bool:
    """A hook the app runs as a program (Claude's `command` type, in whatever manifest it is written)."""
    return cap.type == "hook" and (cap.details.get("hook_type") == "command" or "command" in cap.details)


def runs_program(cap: _Declared) -> bool:
    """A command hook, or an MCP server the app would start as a program (stdio, or any `command`)."""
    if is_command_hook(cap):
        return True
    return cap.type == "mcp_server" and (server_transport(cap.details) == "stdio" or "command" in cap.details)


def _server_host(details: Mapping[str, Any]) -> str | None:
    """The host a remote MCP server reaches; "*" when it is only known at run time; None: no URL."""
    url = details.get("url")
    if url is None or url == "":
        return None
    try:
        host = urlparse(str(url)).hostname
    except ValueError:  # e.g. a broken IPv6 literal: the host cannot be told from the text
        return "*"
    if not host or "$" in host or "{" in host:
        return "*"
    return host


def requested_scope(kind: str, capabilities: Iterable[_Declared], declared: Scope,
                    root: str | os.PathLike[str] | None) -> Scope:
    """The declared scope widened by what the manifest makes the app do, file paths resolved in `root`."""
    shell = declared.shell
    hosts: set[str] = set()
    any_host = False
    for cap in capabilities:
        if cap.type not in ("hook", "mcp_server"):  # tools, services, ...: run by the plugin's own runtime
            continue
        if not shell and runs_program(cap):
            shell = True
        if cap.type == "mcp_server":
            host = _server_host(cap.details)
            if host == "*":
                any_host = True
            elif host is not None:
                hosts.add(host)
    update: dict[str, Any] = {}
    if shell != declared.shell:
        update["shell"] = True
    if kind == "nodejs" and not declared.node_process:
        update["node_process"] = True
    if kind == "wasm" and not declared.wasm_code:
        update["wasm_code"] = True
    net = declared.network_access
    if net.mode != "any" and (any_host or hosts - set(net.hosts if net.mode == "allow" else ())):
        if any_host:
            update["network_access"] = NetworkAccess(mode="any")
        else:
            known = net.hosts if net.mode == "allow" else []
            update["network_access"] = NetworkAccess(mode="allow", hosts=sorted(set(known) | hosts))
    scope = declared.model_copy(update=update) if update else declared
    return scope.resolved(root)
