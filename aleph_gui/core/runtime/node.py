"""Node.js plugins: one `node` process per plugin, JSON-RPC 2.0 over stdio, file scope enforced by Node.

Two shapes (DESIGN.md): *module* — our host script (`node_host.js`) loads the entry and calls its
`register(api)`; *server* — the entry is itself a JSON-RPC server answering `plugin.call` and `ping`.
What is enforced: the process runs in the plugin's OS sandbox (bubblewrap, `sandboxing.py`): only its
folder and granted folders are visible, its own PID namespace, the network as granted (none, the
allow-list through the filtering proxy, or any). Inside, Node's permission model limits file reads and
writes and child processes/workers as an inner layer (`node_command.py`); host APIs are checked
against `allowed_apis`.
Where the system has no sandbox, only that inner layer holds, and the review says so (review.py).

Lifecycle: lazy start on the first call (or at load for `activation = "startup"`), idle stop after
`idle_timeout_s`, graceful shutdown then kill. A crash fails the calls in flight with
`PluginCrashed` and restarts the process with backoff; the 4th crash within 5 minutes marks the
plugin crashed until a new runtime is started.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, NoReturn

from aleph_gui.core.errors import (
    AlephError,
    HookTimeout,
    PluginCallError,
    PluginCrashed,
    PluginFailed,
    PluginNotRunnable,
    PluginTimeout,
)
from aleph_gui.core.hook_result import BadHookAnswer, HookResult, result_from_json
from aleph_gui.core.host_api import SCOPE_DENIED, HostApiError
from aleph_gui.core.manifest.model import DEFAULT_HOOK_TIMEOUT_MS, Capability
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext
from aleph_gui.core.runtime.crash_budget import RESTART_BACKOFF_S, CrashBudget
from aleph_gui.core.runtime.idle_stop import IdleStop
from aleph_gui.core.runtime.node_command import NodeLauncher
from aleph_gui.core.runtime.node_connection import MAX_LINE_BYTES, NodeConnection, RemoteError
from aleph_gui.core.runtime.node_registrations import NodeRegistrations
from aleph_gui.core.runtime.sandboxing import status_sentence

log = logging.getLogger(__name__)

TOOL_TIMEOUT_MS = 30_000
IDLE_TIMEOUT_S = 600.0
READY_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 2.0
PING_TIMEOUT_S = 2.0  # after a timed-out call: a process that cannot answer a ping is hung


class NodeRuntime(PluginRuntime):
    """One Node.js plugin; at most one live `node` process at a time."""

    def __init__(self, ctx: RuntimeContext, *, node_path: str | os.PathLike[str] | None = None,
                 idle_timeout_s: float = IDLE_TIMEOUT_S, ready_timeout_s: float = READY_TIMEOUT_S,
                 restart_backoff_s: float = RESTART_BACKOFF_S, shutdown_grace_s: float = SHUTDOWN_GRACE_S,
                 max_line_bytes: int = MAX_LINE_BYTES) -> None:
        super().__init__(ctx)
        self._launch = NodeLauncher(ctx, node_path)
        self.ready_timeout_s = ready_timeout_s
        self.shutdown_grace_s = shutdown_grace_s
        self.max_line_bytes = max_line_bytes
        self._conn: NodeConnection | None = None
        self._start_lock = asyncio.Lock()
        self._stopped = False
        self._crash = CrashBudget(restart_backoff_s)
        self._restarts = 0
        self._restart_task: asyncio.Task[None] | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._idle = IdleStop(idle_timeout_s, busy=self._busy, stop=self._stop_idle)
        self._in_flight = 0
        self._services: dict[str, str] = {c.name: "stopped" for c in ctx.manifest.of_type("service")}
        self._regs = NodeRegistrations(ctx)  # module shape: what the code registered

    # -- facts -------------------------------------------------------------------------------
    @property
    def shape(self) -> str:
        return self.ctx.manifest.node_shape

    @property
    def pid(self) -> int | None:
        return self._conn.pid if self._conn and self._conn.running else None

    def status(self) -> dict[str, Any]:
        conn = self._conn
        return {
            "pid": self.pid,
            "running": bool(conn and conn.running and conn.is_ready),
            "shape": self.shape,
            "node": ".".join(map(str, self._launch.version)) if self._launch.version else None,
            "restarts": self._restarts,
            "crashes": self._crash.total,
            "crashed": self._crash.exhausted,
            "in_flight": self._in_flight,
            "services": dict(self._services),
            "problems": [p.model_dump() for p in self._regs.problems],
            "sandbox": status_sentence(),
        }

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        manifest = self.ctx.manifest
        if not manifest.entry:
            raise PluginNotRunnable(self.plugin_id, "is a Node.js plugin without an entry file")
        escape = path_escape_reason(self.ctx.root, manifest.entry)
        if escape:
            raise PluginNotRunnable(self.plugin_id, f"its entry {escape}")
        if not (self.ctx.root / manifest.entry).is_file():
            raise PluginNotRunnable(self.plugin_id, f"its entry file '{manifest.entry}' does not exist")
        await self._launch.prepare()
        # A module plugin that declares nothing is only known once its code has run.
        declares = any(c.type in ("tool", "hook", "service") for c in manifest.capabilities)
        if manifest.activation == "startup" or (self.shape == "module" and not declares):
            await self._ensure_running()

    async def stop(self) -> None:
        self._stopped = True
        for task in (self._restart_task, self._health_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._idle.cancel()
        conn = self._conn
        if conn is not None and conn.running:
            await self._stop_services(conn)
            await conn.close(self.shutdown_grace_s)
        self._conn = None
        await self._launch.close()
        self._regs.clear()

    async def _stop_services(self, conn: NodeConnection) -> None:
        for name, state in list(self._services.items()):
            if state == "running":
                with contextlib.suppress(AlephError, TimeoutError, RemoteError):
                    await conn.request(*self._service_request(name, "stop"), timeout_s=self.shutdown_grace_s)
                self._services[name] = "stopped"

    async def _ensure_running(self) -> NodeConnection:
        conn = self._conn
        if conn is not None and conn.is_ready and conn.running:
            return conn
        async with self._start_lock:
            self._check_runnable()
            conn = self._conn
            if conn is not None and conn.is_ready and conn.running:
                return conn
            delay = self._crash.wait_s()
            if delay > 0:
                await asyncio.sleep(delay)
                self._check_runnable()
            return await self._spawn()

    def _check_runnable(self) -> None:
        if self._crash.exhausted is not None:
            raise PluginFailed(self.plugin_id, self._crash.exhausted)
        if self._stopped:
            raise PluginNotRunnable(self.plugin_id, "was stopped")

    async def _spawn(self) -> NodeConnection:
        argv, env = await self._launch.command(self.ctx.config)
        if self._stopped:  # stop() ran while the sandbox was prepared
            await self._discard(None)
        conn = NodeConnection(self.plugin_id, argv, self.ctx.root, env, log_sink=self.ctx.log,
                              on_request=self._host_request, on_notification=self._notification,
                              on_exit=self._on_exit, max_line_bytes=self.max_line_bytes)
        self._conn = conn
        try:
            init = await conn.open(self.ready_timeout_s)
        except AlephError as err:
            self._conn = None
            if self._stopped:  # stopped while it started (its sandbox went first): not a crash
                raise PluginNotRunnable(self.plugin_id, "was stopped") from err
            self.ctx.log("error", f"could not start: {err.message}")
            if self._record_crash(err.message):
                raise PluginFailed(self.plugin_id, self._crash.exhausted or err.message) from err
            raise
        if self._stopped:  # stop() ran while it started: nothing may outlive stop()
            await self._discard(conn)
        log.info("%s: node process %s ready", self.plugin_id, conn.pid)
        if self.shape == "module":
            regs = init.get("registrations")
            self._regs.replace(regs if isinstance(regs, list) else [])
            for cap in self._regs.registered.values():
                if cap.type == "service":
                    self._services.setdefault(cap.name, "stopped")
            # published once start() has returned, so the manager can attach them to the loaded version
            asyncio.get_running_loop().call_soon(self._publish)
        self._idle.touch()
        return conn

    async def _discard(self, conn: NodeConnection | None) -> NoReturn:
        """Undo a start that stop() overtook, and say so to the caller."""
        if conn is not None:
            await conn.close(self.shutdown_grace_s)
        self._conn = None
        await self._launch.close()
        raise PluginNotRunnable(self.plugin_id, "was stopped")

    # -- crashes and restarts -------------------------------------------------------------------
    def _record_crash(self, reason: str) -> bool:
        """Count a crash; True when that was one too many and the plugin is now crashed."""
        if not self._crash.record(reason):
            return False
        self._services = {name: "stopped" for name in self._services}
        self.ctx.log("error", self._crash.exhausted or reason)
        self.ctx.report_state("crashed", self._crash.exhausted or reason)
        return True

    def _on_exit(self, conn: NodeConnection, reason: str, expected: bool) -> None:
        if conn is not self._conn:
            return
        self._conn = None
        self._idle.cancel()
        was_running = [name for name, st in self._services.items() if st == "running"]
        self._services = {name: "stopped" for name in self._services}
        if expected or self._stopped:
            return
        self.ctx.log("error", f"crashed: {reason}")
        if self._record_crash(reason):
            return
        self._restart_task = asyncio.get_running_loop().create_task(self._restart(was_running))

    async def _restart(self, services: list[str]) -> None:
        """Bring a crashed process back (after the backoff) and restart its running services."""
        while not self._stopped and self._crash.exhausted is None:
            try:
                await self._ensure_running()
            except AlephError as err:
                log.info("%s: restart failed: %s", self.plugin_id, err)
                continue
            self._restarts += 1
            self.ctx.log("info", "restarted after a crash")
            for name in services:
                with contextlib.suppress(AlephError):
                    await self.start_service(name)
            return

    def _after_timeout(self, conn: NodeConnection) -> None:
        """A call timed out: if the process cannot even answer a ping it is hung, so replace it."""
        if self._health_task is None or self._health_task.done():
            self._health_task = asyncio.get_running_loop().create_task(self._check_alive(conn))

    async def _check_alive(self, conn: NodeConnection) -> None:
        try:
            await conn.request("ping", {}, PING_TIMEOUT_S)
        except TimeoutError:
            await conn.kill(f"stopped answering: a call timed out and it did not answer a ping "
                            f"within {PING_TIMEOUT_S:g} s, so its process was stopped")
        except (AlephError, RemoteError):
            pass  # gone already (crash handling covers it) or ping unsupported but alive

    # -- idle stop -------------------------------------------------------------------------------
    def _busy(self) -> bool:
        return bool(self._in_flight) or any(st == "running" for st in self._services.values())

    def _stop_idle(self) -> None:
        conn = self._conn
        if conn is None or not conn.running:
            return
        self.ctx.log("info", f"stopped after {self._idle.idle_s:g} s without calls; it restarts on demand")
        self._conn = None
        asyncio.get_running_loop().create_task(conn.close(self.shutdown_grace_s))

    # -- calls -----------------------------------------------------------------------------------
    async def _call(self, method: str, params: dict[str, Any], timeout_ms: int, what: str,
                    timeout_error: type[PluginTimeout] = PluginTimeout) -> Any:
        conn = self._conn
        if conn is None or not conn.is_ready or not conn.running:
            conn = await self._ensure_running()
        self._in_flight += 1
        try:
            return await conn.request(method, params, timeout_ms / 1000)
        except TimeoutError:
            self._after_timeout(conn)
            raise timeout_error(self.plugin_id, f"{what} did not answer within {timeout_ms / 1000:g} s "
                                                "and was cancelled") from None
        except RemoteError as err:
            raise PluginCallError(self.plugin_id, f"{what} failed: {err.message}") from None
        except PluginCrashed as err:
            raise PluginCrashed(self.plugin_id, f"{what} failed: {err.message}") from None
        finally:
            self._in_flight -= 1
            self._idle.touch()

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        manifest = self.ctx.manifest
        timeout = manifest.limits.tool_timeout_ms or TOOL_TIMEOUT_MS
        declared = manifest.tool(tool)
        if self.shape == "server":
            if declared is None:
                raise PluginCallError(self.plugin_id, f"has no tool named '{tool}'")
            params = {"handler": declared.handler_name, "arguments": arguments}
        else:
            if self._conn is None or not self._conn.is_ready:  # registrations are known once it ran
                await self._ensure_running()
            if ("tool", tool) not in self._regs.registered:
                if declared is not None:
                    raise PluginCallError(self.plugin_id, f"the tool '{tool}' is declared in the manifest "
                                                          "but the plugin's code never registers it")
                raise PluginCallError(self.plugin_id, f"has no tool named '{tool}'")
            params = {"handler": tool, "arguments": arguments}
        return await self._call("plugin.call", params, timeout, f"tool '{tool}'")

    async def call_handler(self, kind: str, name: str, arguments: dict[str, Any]) -> Any:
        """Run the handler of a command, channel, provider, HTTP route or CLI entry."""
        timeout = self.ctx.manifest.limits.tool_timeout_ms or TOOL_TIMEOUT_MS
        what = f"{kind.replace('_', ' ')} '{name}'"
        declared = next((c for c in self.ctx.manifest.of_type(kind) if c.name == name), None)
        if self.shape == "server":
            if declared is None:
                raise PluginCallError(self.plugin_id, f"has no {what}")
            return await self._call("plugin.call", {"handler": declared.handler_name, "arguments": arguments},
                                    timeout, what)
        await self._ensure_running()
        return await self._call("handler.run", {"type": kind, "name": name, "arguments": arguments}, timeout, what)

    def settings_changed(self) -> None:
        """The user's settings changed: a running process reads them at once (`api.config`, config.get)."""
        conn = self._conn
        if conn is not None and conn.running and conn.is_ready and self.shape == "module":
            conn.notify("$/config", {"config": self.ctx.config})

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        timeout = timeout_ms or self.ctx.manifest.limits.hook_timeout_ms or DEFAULT_HOOK_TIMEOUT_MS
        what = f"hook handler '{handler}'"
        if self.shape == "server":
            answer = await self._call("plugin.call", {"handler": handler, "arguments": event}, timeout, what,
                                      HookTimeout)
        else:
            await self._ensure_running()
            name = self._regs.hook_alias.get(handler, handler)
            answer = await self._call("hook.run", {"handler": name, "event": event}, timeout, what, HookTimeout)
        try:
            return result_from_json(answer)
        except BadHookAnswer as err:
            raise PluginCallError(self.plugin_id, f"{what} answered something that is not a hook "
                                                  f"decision: {err}") from None

    # -- services --------------------------------------------------------------------------------
    def _service(self, name: str) -> Capability:
        cap = next((c for c in self.ctx.manifest.of_type("service") if c.name == name), None)
        cap = cap or self._regs.registered.get(("service", name))
        if cap is None:
            raise PluginCallError(self.plugin_id, f"has no service named '{name}'")
        return cap

    def _service_request(self, name: str, action: str) -> tuple[str, dict[str, Any]]:
        if self.shape == "module":
            return f"service.{action}", {"id": name}
        cap = self._service(name)
        handler = cap.details.get(f"{action}_handler") or f"{name}.{action}"
        return "plugin.call", {"handler": handler, "arguments": {}}

    async def start_service(self, name: str) -> None:
        self._service(name)
        if self._services.get(name) == "running":
            return
        timeout = self.ctx.manifest.limits.tool_timeout_ms or TOOL_TIMEOUT_MS
        self._services[name] = "starting"
        try:
            await self._ensure_running()
            self._service(name)  # a module plugin may have registered it only now
            await self._call(*self._service_request(name, "start"), timeout, f"service '{name}' start")
        except AlephError:
            self._services[name] = "failed"
            raise
        self._services[name] = "running"

    async def stop_service(self, name: str) -> None:
        self._service(name)
        conn = self._conn
        if self._services.get(name) != "running" or conn is None or not conn.running:
            self._services[name] = "stopped"
            return
        timeout = self.ctx.manifest.limits.tool_timeout_ms or TOOL_TIMEOUT_MS
        self._services[name] = "stopping"
        try:
            await self._call(*self._service_request(name, "stop"), timeout, f"service '{name}' stop")
        finally:
            self._services[name] = "stopped"
            self._idle.touch()

    def _publish(self) -> None:
        if not self._stopped:
            self._regs.publish()

    def _notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "log":
            level = params.get("level") if params.get("level") in ("debug", "info", "warning", "error") else "info"
            self.ctx.log(str(level), str(params.get("message", "")))
        elif method == "$/register" and self.shape == "module":
            cap = self._regs.add(params)
            if cap is not None and cap.type == "service":
                self._services.setdefault(cap.name, "stopped")
        else:
            log.debug("%s: ignored notification %s", self.plugin_id, method)

    # -- host APIs (api.call from the plugin) ------------------------------------------------------
    async def _host_request(self, method: str, params: dict[str, Any]) -> Any:
        if method != "host.call":
            raise RemoteError(-32601, f"unknown method '{method}'")
        api = params.get("api")
        raw_args = params.get("args")
        if not isinstance(api, str) or not api:
            raise RemoteError(-32602, "host.call needs an 'api' name")
        try:
            return await self.ctx.host.call_async(api, raw_args if isinstance(raw_args, dict) else {})
        except HostApiError as err:
            if err.code == SCOPE_DENIED:
                self.ctx.log("warning", f"refused: {err.message}")
            raise RemoteError(err.code, err.message) from None
