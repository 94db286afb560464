"""WASM plugins on Extism, with the granted scope enforced by the sandbox itself.

The Extism manifest (granted folders, hosts, memory, time limit) is built in `wasm_manifest.py`,
compiled modules are cached in `wasm_cache.py`, and host functions live in `wasm_host.py`.

Every piece of plugin code runs under a time limit. Calls run under Extism's `timeout_ms`. A
module's start-up code (`start`, `_initialize`) would run outside it, while instantiating, so
`wasm_module.py` turns it into exports that each new instance calls first, under the same limit
("did not finish starting within N ms"). Compiling and instantiating run on a thread of their own;
`start()` stops waiting after the plugin's longest call limit, so a stuck load cannot hold the event
loop or the call workers.

Extism stops a timed-out call by bumping the epoch of the compiled module's engine, which also
aborts calls in other instances of the same compiled module; so each runtime runs one instance per
compiled module (per time limit) and calls it one call at a time. Tools and hooks with different
time limits get separate compiled modules, because the limit is part of the compiled manifest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import extism

from aleph_gui.core.errors import HookTimeout, PluginCallError, PluginNotRunnable, PluginTimeout, cap_text
from aleph_gui.core.hook_result import BadHookAnswer, HookResult, result_from_json
from aleph_gui.core.manifest.model import DEFAULT_HOOK_TIMEOUT_MS
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext
from aleph_gui.core.runtime.offload import offloader, settle
from aleph_gui.core.runtime.wasm_cache import CompileCache, CompileKey, shared_compile_cache
from aleph_gui.core.runtime.wasm_errors import OUTPUT_MAX_BYTES, call_error, mib
from aleph_gui.core.runtime.wasm_health import CallHealth
from aleph_gui.core.runtime.wasm_instances import Instance, Instances
from aleph_gui.core.runtime.wasm_manifest import (
    TOOL_TIMEOUT_MS,
    allowed_paths,
    build_extism_manifest,
    clamp_timeout,
)

__all__ = ["CompileCache", "CompileKey", "WasmRuntime", "build_extism_manifest", "shared_compile_cache"]

log = logging.getLogger(__name__)

START_BACKSTOP_MS = 500  # start() waits this much past the limit, so Extism's own timer speaks first


class _LateStarts:
    """Loads that `start()` stopped waiting for and that are still running (each ends by itself:
    compiling is finite and start-up code runs under Extism's timer)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.running += n


LATE_STARTS = _LateStarts()


class WasmRuntime(PluginRuntime):
    """One loaded version of one WASM plugin."""

    supports_blocking_hooks = True

    def __init__(self, ctx: RuntimeContext, cache: CompileCache | None = None) -> None:
        super().__init__(ctx)
        self.instances = Instances(ctx, cache or shared_compile_cache())
        self._entry = self.instances.entry
        self._started = False
        self._stopped = False
        self._abandoned = False  # start() stopped waiting for the load (see LATE_STARTS)
        self._start_ended = False
        self._start_lock = threading.Lock()
        self._load_ms = 0.0
        self.health = CallHealth(self.plugin_id, ctx.log, ctx.report_state)
        # Looked up on every call, so worked out once: tool -> (export, how errors name it), limits.
        self._tools = {c.name: (c.handler_name, f"tool '{c.name}'") for c in ctx.manifest.of_type("tool")}
        self._tool_limit = self.tool_timeout_ms
        self._hook_limits: dict[tuple[str, int | None], int] = {}

    # -- limits --------------------------------------------------------------------------------
    @property
    def tool_timeout_ms(self) -> int:
        return clamp_timeout(self.ctx.manifest.limits.tool_timeout_ms, TOOL_TIMEOUT_MS)

    def hook_timeout_ms(self, handler: str | None = None) -> int:
        default = self.ctx.manifest.limits.hook_timeout_ms or DEFAULT_HOOK_TIMEOUT_MS
        for cap in self.ctx.manifest.of_type("hook"):
            if handler is not None and cap.handler_name == handler and cap.timeout_ms:
                return clamp_timeout(cap.timeout_ms, default)
        return clamp_timeout(default, DEFAULT_HOOK_TIMEOUT_MS)

    def _timeouts(self) -> set[int]:
        timeouts = {self.tool_timeout_ms}
        timeouts.update(self.hook_timeout_ms(c.handler_name) for c in self.ctx.manifest.of_type("hook"))
        return timeouts

    @property
    def start_limit_ms(self) -> int:
        """Loading (compile + instantiate + start-up code) gets the plugin's longest call limit."""
        return max(self._timeouts())

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Load on a thread of its own; give up waiting after `start_limit_ms` (plus a backstop)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        threading.Thread(target=self._start_thread, args=(loop, done), daemon=True,
                         name=f"wasm-start-{self.plugin_id}").start()
        limit = self.start_limit_ms
        try:
            await asyncio.wait_for(asyncio.shield(done), (limit + START_BACKSTOP_MS) / 1000)
        except TimeoutError:
            with self._start_lock:
                self._abandoned = self._stopped = not self._start_ended
                if self._abandoned:
                    LATE_STARTS.add(1)
            if self._abandoned:
                raise PluginTimeout(self.plugin_id, f"{self._entry} did not finish starting within {limit} ms") \
                    from None
            await done  # it ended just in time: its answer is on the way

    def _start_thread(self, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]) -> None:
        error: BaseException | None = None
        try:
            self.start_blocking()
        except BaseException as exc:  # delivered to start(), never lost
            error = exc
        with self._start_lock:
            self._start_ended = True
            if self._abandoned:
                LATE_STARTS.add(-1)
                return
        try:
            loop.call_soon_threadsafe(settle, done, None, error)
        except RuntimeError:  # the loop was closed meanwhile
            pass

    def start_blocking(self) -> None:
        """Compile (or take from the cache) and instantiate, so a bad module fails here, not at a call."""
        began = time.perf_counter()
        self.instances.open()
        timeouts = self._timeouts()
        for timeout_ms in sorted(timeouts):
            self.instances.get(timeout_ms)
        # Instantiate one now so a module with imports it was not granted, or start-up code that
        # fails, fails here; the others (same module, same imports) start on first use.
        first = self.instances.get(self.tool_timeout_ms if self.ctx.manifest.of_type("tool") else min(timeouts))
        if self._abandoned:
            return
        first.plugin = self.instances.new_plugin(first)
        self._started = not self._abandoned
        self._load_ms = (time.perf_counter() - began) * 1000
        log.debug("%s: loaded %s in %.2f ms (compiled cache hit: %s)", self.plugin_id, self._entry, self._load_ms,
                  self.instances.cache_hit)

    async def stop(self) -> None:
        # An in-flight call keeps its instance until it returns (bounded by its time limit); it is
        # never cancelled, because cancelling would also abort a sibling runtime's call. Calls
        # waiting for the instance see `_stopped` and give up.
        self._stopped = True
        self.instances.clear()

    # -- calls -------------------------------------------------------------------------------------
    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        return await offloader().run(self.call_tool_blocking, tool, arguments)

    def call_tool_blocking(self, tool: str, arguments: dict[str, Any]) -> Any:
        known = self._tools.get(tool)
        if known is None:
            raise PluginCallError(self.plugin_id, f"has no tool named '{tool}'")
        try:
            data = json.dumps(arguments).encode()
        except (TypeError, ValueError) as exc:
            raise PluginCallError(self.plugin_id, f"arguments of '{tool}' are not JSON: {exc}") from exc
        out = self._call(known[0], data, self._tool_limit, known[1], PluginTimeout)
        if not out:
            return None
        text = out.decode(errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            return text  # the ABI allows plain-text results

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        return await offloader().run(self.run_hook_blocking, handler, event, timeout_ms)

    def run_hook_blocking(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        limit = self._hook_limits.get((handler, timeout_ms))
        if limit is None:
            limit = self._hook_limits[handler, timeout_ms] = (
                clamp_timeout(timeout_ms, DEFAULT_HOOK_TIMEOUT_MS) if timeout_ms else self.hook_timeout_ms(handler))
        out = self._call(handler, json.dumps(event).encode(), limit, f"hook handler '{handler}'", HookTimeout)
        if not out.strip():
            return result_from_json(None)
        try:
            return result_from_json(json.loads(out))
        except (ValueError, BadHookAnswer) as exc:
            err = PluginCallError(self.plugin_id, cap_text(f"hook handler '{handler}' answered something that is "
                                                       f"not a hook decision: {exc}"))
            self.health.failure(err)
            raise err from exc

    def _call(self, export: str, data: bytes, timeout_ms: int, what: str,
              timeout_error: type[PluginTimeout]) -> bytes:
        if self.health.failed is not None:
            self.health.check()
        if self._stopped or not self._started:
            raise PluginNotRunnable(self.plugin_id, "is not running")
        inst = self.instances.by_timeout.get(timeout_ms) or self.instances.get(timeout_ms)
        with inst.lock:
            if self._stopped:  # stopped while waiting for the instance
                raise PluginNotRunnable(self.plugin_id, "is not running")
            if inst.plugin is None:
                try:
                    inst.plugin = self.instances.new_plugin(inst)
                except PluginCallError as exc:
                    self.health.failure(exc)
                    raise
            plugin = inst.plugin
            exists = inst.exports.get(export)
            if exists is None:
                exists = inst.exports[export] = bool(plugin.function_exists(export))
            if not exists:
                err = PluginCallError(self.plugin_id, f"{what} names the export '{export}', which the module "
                                                      "does not have")
                self.health.failure(err)
                raise err
            guest = inst.guest
            guest.begin_call(timeout_ms)
            errors_before = self.instances.host_errors.count
            try:
                out = plugin.call(export, data, parse=_bounded_bytes, host_context=guest)
            except _OutputTooLarge as exc:
                err = PluginCallError(self.plugin_id, f"{what} returned {mib(int(exc.args[0]))} of output; "
                                                      f"the limit is {mib(OUTPUT_MAX_BYTES)}")
                self.health.failure(err)
                raise err from None
            except extism.Error as exc:
                if guest.refusal is None:
                    self._fault(inst, str(exc), what, timeout_ms, timeout_error, errors_before)
                out = b""
            if export == "_start":  # Extism re-instantiates after `_start`, without the start-up code
                inst.plugin = None
            if guest.refusal is not None:
                err = PluginCallError(self.plugin_id, cap_text(f"{what} {guest.refusal}"))
                self.health.refusal(err)
                raise err
        self.health.ok()
        return out

    def _fault(self, inst: Instance, message: str, what: str, timeout_ms: int,
               timeout_error: type[PluginTimeout], errors_before: int) -> None:
        errors = self.instances.host_errors
        err, fault = call_error(self.plugin_id, message, what, timeout_ms, timeout_error, self.instances.memory_mb)
        if errors.count > errors_before and errors.last:
            err = type(err)(self.plugin_id, f"{err.message} after {errors.last}")
        if not fault:
            self.health.refusal(err)
            raise err
        if isinstance(err, PluginTimeout):
            self.health.timed_out()
        # a timed-out or trapped instance may be half-way through anything: start afresh on next use
        inst.plugin = None
        self.health.failure(err)
        raise err

    # -- facts for the UI ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        timeouts = self.instances.timeouts()
        return {
            "runtime": "wasm",
            "extism": extism.extism_version(),
            "entry": self.ctx.manifest.entry,
            "running": self._started and not self._stopped,
            "compiled_cache_hit": self.instances.cache_hit,
            "load_ms": round(self._load_ms, 3),
            "memory_limit_mb": self.instances.memory_mb,
            "tool_timeout_ms": self.tool_timeout_ms,
            "hook_timeout_ms": self.hook_timeout_ms(),
            "start_limit_ms": self.start_limit_ms,
            "instances": len(timeouts),
            "instance_timeouts_ms": timeouts,
            "host_functions": list(self.instances.function_names),
            "allowed_paths": allowed_paths(self.ctx.scope, self.ctx.root),
            "allowed_hosts": list(self.instances.hosts),
            "calls": self.health.calls,
            "failures": self.health.failures,
            "timeouts": self.health.timeouts,
            "consecutive_failures": self.health.consecutive_failures,
            "host_errors": self.instances.host_errors.count,
            "last_error": self.health.last_error,
            "failed": self.health.failed is not None,
            "late_starts_running": LATE_STARTS.running,
        }


class _OutputTooLarge(Exception):
    pass


def _bounded_bytes(buf: Any) -> bytes:
    if len(buf) > OUTPUT_MAX_BYTES:
        raise _OutputTooLarge(len(buf))
    return bytes(buf)

