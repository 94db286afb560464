"""The stdio MCP servers a plugin declares, run by the host with the official `mcp` SDK.

Each server starts on first use (listing or calling its tools) inside the plugin's OS sandbox, keeps
one client session open, is stopped after `IDLE_S` without use, and with the plugin version. Its
tools are called like any plugin tool (the manager runs the hook chain around them). Remote
(http/sse) servers are listed but not started by this app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from aleph_gui.core.errors import PluginCallError, PluginTimeout
from aleph_gui.core.manifest.model import Capability
from aleph_gui.core.mcp import McpServerError, expand_server
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.runtime.sandboxing import ProcessSandbox, plugin_policy, process_env, status_sentence
from aleph_gui.core.sandbox import default_env, executable_prefixes, python_prefix, sandbox_status

log = logging.getLogger(__name__)

IDLE_S = 300.0  # a server nobody used for this long is stopped; it starts again on demand
START_TIMEOUT_S = 30.0
CALL_TIMEOUT_S = 60.0
STDERR_TAIL = 600


@dataclass(frozen=True)
class McpTool:
    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


class _Server:
    """One running stdio server: a task holds the SDK's session open until told to stop."""

    def __init__(self, owner: McpServers, cap: Capability) -> None:
        self.owner, self.name, self.config = owner, cap.name, cap.details
        self.session: Any = None
        self.tools: list[McpTool] | None = None
        self.state = "stopped"
        self.error = ""
        self.last_used = 0.0
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[Any] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def who(self) -> str:
        return f"MCP server '{self.name}'"

    async def ensure(self) -> Any:
        self.last_used = time.monotonic()
        if self.session is not None and self._task is not None and not self._task.done():
            return self.session
        async with self._lock:
            if self.session is not None and self._task is not None and not self._task.done():
                return self.session
            argv, env = await self.owner.launch(self.name, self.config)
            loop = asyncio.get_running_loop()
            self._ready, self._stop = loop.create_future(), asyncio.Event()
            self.state, self.error = "starting", ""
            self._task = loop.create_task(self._hold(argv, env), name=f"mcp-{self.owner.ctx.plugin_id}-{self.name}")
            try:
                self.session = await asyncio.wait_for(asyncio.shield(self._ready), self.owner.start_timeout_s)
            except TimeoutError:
                await self.stop()
                raise PluginTimeout(self.owner.ctx.plugin_id, f"{self.who} did not answer within "
                                                              f"{self.owner.start_timeout_s:g} s") from None
            self.state = "running"
            self.owner.ctx.log("info", f"{self.who} started")
            return self.session

    async def _hold(self, argv: list[str], env: dict[str, str]) -> None:
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        assert self._ready is not None
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=str(self.owner.ctx.root))
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as errlog:
            try:
                async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    self._ready.set_result(session)
                    await self._stop.wait()
            except Exception as exc:  # the SDK raises many kinds (closed streams, protocol errors, OSError)
                message = f"{self.who} failed: {_reason(exc)}{_tail(errlog)}"
                if isinstance(exc, FileNotFoundError):
                    message = f"{self.who}: the command '{argv[0]}' was not found"
                self.error, self.state = message, "failed"
                self.owner.ctx.log("error", message)
                if not self._ready.done():
                    self._ready.set_exception(McpServerError(self.owner.ctx.plugin_id, message))
            finally:
                self.session = None
                if self.state != "failed":
                    self.state = "stopped"

    async def stop(self) -> None:
        task, self._task = self._task, None
        self._stop.set()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        self.session, self.tools = None, None
        if self.state != "failed":
            self.state = "stopped"


class McpServers:
    """All stdio servers of one plugin version."""

    def __init__(self, ctx: RuntimeContext, idle_s: float = IDLE_S, start_timeout_s: float = START_TIMEOUT_S) -> None:
        self.ctx = ctx
        self.idle_s = idle_s
        self.start_timeout_s = start_timeout_s
        self._servers = {c.name: _Server(self, c) for c in ctx.manifest.of_type("mcp_server")
                         if expand_server(c.details)[0]["type"] == "stdio"}
        self._sandboxes: dict[str, ProcessSandbox] = {}
        self._idle_task: asyncio.Task[None] | None = None

    @property
    def names(self) -> list[str]:
        return sorted(self._servers)

    async def tools(self, server: str | None = None) -> list[McpTool]:
        """The tools of every server (or one), starting them on first use."""
        names = [server] if server else self.names
        out: list[McpTool] = []
        for name in names:
            srv = self._server(name)
            if srv.tools is None:
                session = await srv.ensure()
                listed = await self._ask(srv, session.list_tools())
                srv.tools = [McpTool(name, t.name, t.description or "", _schema(t)) for t in listed.tools]
            out += srv.tools
        return out

    async def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        match = next((t for t in await self.tools() if t.name == tool), None)
        if match is None:
            raise PluginCallError(self.ctx.plugin_id, f"has no MCP tool named '{tool}'")
        srv = self._server(match.server)
        session = await srv.ensure()
        result = await self._ask(srv, session.call_tool(tool, arguments), CALL_TIMEOUT_S)
        texts = [getattr(c, "text", None) for c in result.content]
        structured = getattr(result, "structured_content", None) or getattr(result, "structuredContent", None)
        if getattr(result, "is_error", False) or getattr(result, "isError", False):
            raise PluginCallError(self.ctx.plugin_id, f"MCP tool '{tool}' failed: "
                                                      f"{' '.join(t for t in texts if t)[:2000] or 'no message'}")
        if isinstance(structured, dict) and set(structured) == {"result"}:
            return structured["result"]  # how SDK servers wrap a result that is not an object
        if structured is not None:
            return structured
        if len(texts) == 1 and texts[0] is not None:
            return texts[0]
        return {"content": [c.model_dump(mode="json") for c in result.content]}

    async def stop(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
        for srv in self._servers.values():
            await srv.stop()
        for sandbox in self._sandboxes.values():
            await sandbox.close()
        self._sandboxes.clear()

    def status(self) -> dict[str, Any]:
        return {name: {"state": s.state, "tools": len(s.tools or []), "error": s.error, "command": _command(s.config),
                       "sandbox": status_sentence()} for name, s in sorted(self._servers.items())}

    # -- internals -------------------------------------------------------------------------------
    def _server(self, name: str) -> _Server:
        srv = self._servers.get(name)
        if srv is not None:
            return srv
        declared = {c.name: c.details for c in self.ctx.manifest.of_type("mcp_server")}
        if name in declared:
            cfg = expand_server(declared[name])[0]
            raise McpServerError(self.ctx.plugin_id, f"MCP server '{name}' is a remote {cfg['type']} server at "
                                                     f"{cfg.get('url') or '(no url)'}; only stdio servers can be "
                                                     "started by this app")
        raise McpServerError(self.ctx.plugin_id, f"has no MCP server named '{name}' "
                                                 f"(its servers: {', '.join(sorted(declared)) or 'none'})")

    async def _ask(self, srv: _Server, request: Any, timeout: float | None = None) -> Any:
        timeout = timeout or self.start_timeout_s
        srv.last_used = time.monotonic()
        self._watch_idle()
        try:
            return await asyncio.wait_for(request, timeout)
        except TimeoutError:
            raise PluginTimeout(self.ctx.plugin_id, f"{srv.who} did not answer within {timeout:g} s") from None
        except PluginCallError:
            raise
        except Exception as exc:
            raise McpServerError(self.ctx.plugin_id, f"{srv.who} failed: {_reason(exc)}") from exc

    async def launch(self, name: str, config: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        """argv and env of one server: in the plugin's sandbox where this system has one."""
        cfg, missing = expand_server(config, plugin_root=self.ctx.root)
        if not cfg.get("command"):
            hint = f" (unset: {', '.join(missing)})" if missing else ""
            raise McpServerError(self.ctx.plugin_id, f"MCP server '{name}' has no command to run{hint}")
        command = shutil.which(cfg["command"]) or cfg["command"]
        argv = [command, *[str(a) for a in cfg.get("args") or []]]
        extra = {str(k): str(v) for k, v in (cfg.get("env") or {}).items()}
        if not sandbox_status().available:
            return argv, {**process_env(), "CLAUDE_PLUGIN_ROOT": str(self.ctx.root), **extra}
        sandbox = self._sandboxes.get(name)
        if sandbox is None:
            env = {**default_env(), "CLAUDE_PLUGIN_ROOT": str(self.ctx.root), **extra}
            policy = plugin_policy(self.ctx.plugin_id, self.ctx.root, self.ctx.scope,
                                   runtime_paths=_runtime_paths(command), env=env)
            sandbox = self._sandboxes[name] = ProcessSandbox(policy, log=lambda line: self.ctx.log("warning", line))
        return await sandbox.wrap(argv), {}

    def _watch_idle(self) -> None:
        if self._idle_task is None or self._idle_task.done():
            self._idle_task = asyncio.get_running_loop().create_task(self._stop_idle())

    async def _stop_idle(self) -> None:
        while any(s.session is not None for s in self._servers.values()):
            await asyncio.sleep(min(self.idle_s, 30.0))
            now = time.monotonic()
            for srv in self._servers.values():
                if srv.session is not None and now - srv.last_used >= self.idle_s:
                    self.ctx.log("info", f"{srv.who} stopped after {self.idle_s:g} s without use; it starts on demand")
                    await srv.stop()


def _runtime_paths(command: str) -> list[str]:
    """What a server's command needs to run: its install folders, and the app's Python when it is that."""
    paths = executable_prefixes(shutil.which(command) or command)
    if os.path.realpath(command) == os.path.realpath(sys.executable):
        paths += [sys.prefix, python_prefix() or ""]
    return [p for p in paths if p]


def _schema(tool: Any) -> dict[str, Any]:
    schema = getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", None)  # SDK spellings
    return schema if isinstance(schema, dict) else {"type": "object"}


def _command(config: dict[str, Any]) -> str:
    return " ".join([str(config.get("command", "")), *[str(a) for a in config.get("args") or []]]).strip()


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
