"""One running version of a plugin: its runtime, and its registrations in the registry and the executor.

`LoadedPlugin.start()` does all the slow work (compile, spawn) without touching shared state, so a
reload can prepare the new version while the old one keeps serving; `activate()` then registers in
one synchronous step (no await), so every event sees either the old or the new handlers, never neither.
Every registration's undo goes into the version's one `Disposables` list; `deactivate()` runs them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aleph_gui.core.hook_result import HookResult
from aleph_gui.core.hooks import HookExecutor, HookHandler
from aleph_gui.core.json_schema import compile_validator
from aleph_gui.core.manifest.model import (
    DEFAULT_COMMAND_HOOK_TIMEOUT_MS,
    DEFAULT_HOOK_TIMEOUT_MS,
    Capability,
    PluginManifest,
)
from aleph_gui.core.registry import Disposables, PluginRegistry, Undo
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext

if TYPE_CHECKING:
    from aleph_gui.core.runtime.mcp_servers import McpServers

RETIRE_GRACE_S = 35.0  # longest we wait for in-flight calls of a retired version


def runtime_class(manifest: PluginManifest) -> type[PluginRuntime] | None:
    """Which runtime runs this plugin's code (None: nothing to run)."""
    if manifest.kind == "wasm":
        from aleph_gui.core.runtime.wasm import WasmRuntime
        return WasmRuntime
    if manifest.kind == "nodejs":
        from aleph_gui.core.runtime.node import NodeRuntime
        return NodeRuntime
    if any(c.type == "hook" and c.details.get("hook_type") == "command" for c in manifest.capabilities):
        from aleph_gui.core.runtime.command import CommandRuntime
        return CommandRuntime
    return None


class TrackedRuntime(PluginRuntime):
    """Counts calls in flight so a retired version is stopped only once they have finished.

    Async calls run on the event loop thread only, so their counter needs no lock (this sits on the
    hot path of every tool call); blocking hook calls come from worker threads and take the lock.
    """

    def __init__(self, inner: PluginRuntime) -> None:
        super().__init__(inner.ctx)
        self.inner = inner
        self.supports_blocking_hooks = inner.supports_blocking_hooks
        self._async_calls = 0
        self._thread_calls = 0
        self._lock = threading.Lock()

    async def wait_idle(self, timeout: float) -> bool:
        deadline = asyncio.get_running_loop().time() + timeout
        while self._async_calls or self._thread_calls:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        self._async_calls += 1
        try:
            return await self.inner.call_tool(tool, arguments)
        finally:
            self._async_calls -= 1

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        self._async_calls += 1
        try:
            return await self.inner.run_hook(handler, event, timeout_ms)
        finally:
            self._async_calls -= 1

    def run_hook_blocking(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        with self._lock:
            self._thread_calls += 1
        try:
            return self.inner.run_hook_blocking(handler, event, timeout_ms)
        finally:
            with self._lock:
                self._thread_calls -= 1

    @property
    def calls_blocking(self) -> bool:
        """Can a tool call run on a worker thread (WASM), sharing the hop with the hooks around it?"""
        return hasattr(self.inner, "call_tool_blocking")

    def call_tool_blocking(self, tool: str, arguments: dict[str, Any]) -> Any:
        with self._lock:
            self._thread_calls += 1
        try:
            return self.inner.call_tool_blocking(tool, arguments)  # type: ignore[attr-defined]
        finally:
            with self._lock:
                self._thread_calls -= 1

    def status(self) -> dict[str, Any]:
        return self.inner.status()

    def __getattr__(self, name: str) -> Any:  # runtime extras, e.g. start_service
        return getattr(self.inner, name)


def hook_handlers(manifest: PluginManifest, runtime: PluginRuntime | None,
                  caps: list[Capability] | None = None) -> list[HookHandler]:
    """The executor entries for a plugin's hook capabilities (the manifest's, or `caps`)."""
    handlers = []
    for cap in (caps if caps is not None else manifest.of_type("hook")):
        is_command = cap.details.get("hook_type") is not None
        default = DEFAULT_COMMAND_HOOK_TIMEOUT_MS if is_command else (
            manifest.limits.hook_timeout_ms or DEFAULT_HOOK_TIMEOUT_MS)
        handlers.append(HookHandler(
            plugin_id=manifest.id, event=cap.event, handler=cap.handler_name, priority=cap.priority,
            kind=cap.hook_kind, matcher=cap.matcher, fail_closed=cap.fail_closed,
            timeout_ms=cap.timeout_ms or default, runtime=runtime,
            skip_reason=_skip_reason(cap, runtime),
        ))
    return handlers


def _skip_reason(cap: Capability, runtime: PluginRuntime | None) -> str:
    """Why a declared hook is listed but never run (the executor traces it as skipped)."""
    if cap.details.get("hook_type") in ("prompt", "agent"):
        return f"{cap.details['hook_type']} hooks are not run by this app"
    if runtime is None:
        return "the plugin has no code that could run this hook (static plugin)"
    return ""


class LoadedPlugin:
    """One running version of one plugin."""

    def __init__(self, manifest: PluginManifest, path: Path, origin: str) -> None:
        self.manifest = manifest
        self.path = path  # resolved plugin folder
        self.origin = origin
        self.runtime: TrackedRuntime | None = None
        self.mcp: McpServers | None = None  # its stdio MCP servers, started on first use
        self.disposables = Disposables()
        self._validators: dict[str, Callable[[str, str, Any], None]] = {}

    async def start(self, ctx: RuntimeContext) -> None:
        """Build and start the runtime; raises AlephError when the plugin cannot run."""
        cls = runtime_class(self.manifest)
        if cls is not None:
            runtime = TrackedRuntime(cls(ctx))
            try:
                await runtime.start()
            except BaseException:  # a runtime that started half-way (a sandbox, a process) leaves nothing
                await runtime.stop()
                raise
            self.runtime = runtime
        if self.manifest.of_type("mcp_server"):
            from aleph_gui.core.runtime.mcp_servers import McpServers

            self.mcp = McpServers(ctx)

    def registrar(self, registry: PluginRegistry, executor: HookExecutor) -> Callable[[Capability], Undo]:
        """`ctx.register` for running code (Node module shape): what the manifest already declares is
        not registered twice; new hooks also get a handler in the executor."""
        declared = {(c.type, c.label) for c in self.manifest.capabilities}
        manifest = self.manifest

        def register(cap: Capability) -> Undo:
            if (cap.type, cap.label) in declared:
                return lambda: None
            undos = [registry.register(manifest.id, cap, source="runtime")]
            if cap.type == "hook":
                undos += [executor.add(h) for h in hook_handlers(manifest, self.runtime, [cap])]

            def withdraw() -> None:
                for undo in reversed(undos):
                    undo()

            return self.disposables.add(withdraw)

        return register

    def activate(self, registry: PluginRegistry, executor: HookExecutor) -> None:
        """Register the manifest's capabilities and hook handlers (synchronous)."""
        self.disposables.add(registry.register_manifest(self.manifest))
        for handler in hook_handlers(self.manifest, self.runtime):
            self.disposables.add(executor.add(handler))

    def deactivate(self) -> None:
        """Withdraw every registration and hook handler (synchronous: part of an atomic swap)."""
        self.disposables.dispose()

    async def retire(self) -> None:
        """Stop the runtime once its calls in flight are done."""
        if self.runtime is not None:
            await self.runtime.wait_idle(RETIRE_GRACE_S)
            await self.runtime.stop()
        if self.mcp is not None:
            await self.mcp.stop()

    def check_arguments(self, tool: str, schema: dict[str, Any], arguments: dict[str, Any]) -> None:
        """Validate tool arguments; the compiled validator is kept for the life of this version."""
        validator = self._validators.get(tool)
        if validator is None:
            validator = self._validators[tool] = compile_validator(schema)
        validator(self.manifest.id, tool, arguments)
