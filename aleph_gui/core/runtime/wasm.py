"""WASM plugins on Extism, with the granted scope enforced by the sandbox itself.

Scope -> Extism manifest: `file_access` -> WASI `allowed_paths` (`ro:` when read-only),
`network_access` -> `allowed_hosts` (none = no host), `allowed_apis` -> which host functions are
linked, `limits.memory_mb` -> `memory.max_pages`, and `timeout_ms` is always set.

Extism stops a timed-out call by bumping the epoch of the compiled module's engine, which also
aborts calls running in *other* instances made from the same `CompiledPlugin`. So each runtime
runs one instance per compiled module and calls it one at a time, and compiled modules are only
shared by runtimes of the same plugin version and scope (a reload of an unchanged module). Tools
and hooks with different time limits get separate compiled modules, because the limit is part of
the compiled manifest.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import extism
from extism.extism import CompiledPlugin

from aleph_gui.core.errors import (
    AlephError,
    HookTimeout,
    ManifestError,
    PluginCallError,
    PluginFailed,
    PluginNotRunnable,
    PluginTimeout,
    ScopeDenied,
)
from aleph_gui.core.hook_result import BadHookAnswer, HookResult, result_from_json
from aleph_gui.core.manifest.model import DEFAULT_HOOK_TIMEOUT_MS
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext
from aleph_gui.core.runtime.offload import offloader
from aleph_gui.core.runtime.wasm_host import API_OF_FUNCTION, NAMESPACE, GuestBinding, host_functions
from aleph_gui.core.scope import Scope

log = logging.getLogger(__name__)

TOOL_TIMEOUT_MS = 10_000
MIN_TIMEOUT_MS = 10
MAX_TIMEOUT_MS = 120_000
DEFAULT_MEMORY_MB = 16
MAX_MEMORY_MB = 256
PAGES_PER_MB = 16  # WebAssembly pages are 64 KiB
OUTPUT_MAX_BYTES = 16 * 1024 * 1024
FAILURES_BEFORE_FAILED = 5
COMPILE_CACHE_ENTRIES = 64


# -- the Extism manifest -------------------------------------------------------------------------

def memory_limit_mb(requested: int | None) -> int:
    return max(1, min(int(requested or DEFAULT_MEMORY_MB), MAX_MEMORY_MB))


def clamp_timeout(ms: int | None, default: int) -> int:
    return max(MIN_TIMEOUT_MS, min(int(ms if ms is not None else default), MAX_TIMEOUT_MS))


def allowed_paths(scope: Scope, root: Path) -> dict[str, str]:
    """Host folder -> name the plugin sees it under (the path as written in the manifest).

    Read-only grants get Extism's `ro:` prefix. Folders that do not exist are left out (WASI cannot
    open them), and the caller logs that.
    """
    fa = scope.file_access
    if fa.mode == "none":
        return {}
    prefix = "ro:" if fa.mode == "read" else ""
    out: dict[str, str] = {}
    for written in sorted(set(fa.paths)) or ["/"]:
        host = Path(written).expanduser()
        if not host.is_absolute():
            host = root / host
        out[prefix + str(host.resolve())] = written
    return out


def allowed_hosts(scope: Scope) -> list[str]:
    na = scope.network_access
    if na.mode == "any":
        return ["*"]
    if na.mode == "allow":
        return sorted(set(na.hosts))
    return []


def extism_config(ctx: RuntimeContext) -> dict[str, str]:
    """The plugin's settings as Extism config, whose values are strings."""
    merged = ctx.config
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}


def build_extism_manifest(ctx: RuntimeContext, timeout_ms: int) -> dict[str, Any]:
    """Everything of the Extism manifest except the module itself."""
    paths = {host: guest for host, guest in allowed_paths(ctx.scope, ctx.root).items()
             if Path(host.removeprefix("ro:")).is_dir()}
    return {
        "allowed_paths": paths,
        "allowed_hosts": allowed_hosts(ctx.scope),
        "memory": {"max_pages": memory_limit_mb(ctx.manifest.limits.memory_mb) * PAGES_PER_MB},
        "timeout_ms": timeout_ms,
    }


# -- compiled module cache -------------------------------------------------------------------------

@dataclass(frozen=True)
class CompileKey:
    path: str
    mtime_ns: int
    ctime_ns: int
    size: int
    inode: int
    manifest_hash: str

    @property
    def file_identity(self) -> tuple[int, int, int, int]:
        return (self.mtime_ns, self.ctime_ns, self.size, self.inode)


class CompileCache:
    """Compiled modules by file identity + Extism manifest + linked host functions (LRU)."""

    def __init__(self, max_entries: int = COMPILE_CACHE_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[CompileKey, CompiledPlugin] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(path: Path, manifest: dict[str, Any], functions: list[str]) -> CompileKey:
        st = path.stat()
        digest = hashlib.sha256(json.dumps([manifest, sorted(functions)], sort_keys=True).encode()).hexdigest()
        return CompileKey(str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, digest)

    def get(self, key: CompileKey) -> CompiledPlugin | None:
        with self._lock:
            compiled = self._entries.get(key)
            if compiled is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return compiled

    def put(self, key: CompileKey, compiled: CompiledPlugin) -> None:
        with self._lock:
            self.misses += 1
            # an older version of the same file is never asked for again
            for stale in [k for k in self._entries if k.path == key.path and k.file_identity != key.file_identity]:
                del self._entries[stale]
            self._entries[key] = compiled
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@functools.cache
def shared_compile_cache() -> CompileCache:
    """The process-wide cache every WasmRuntime uses unless it is given its own."""
    return CompileCache()


# -- error sentences -----------------------------------------------------------------------------

_UNKNOWN_IMPORT = re.compile(r"unknown import: `([^`]+?)::([^`]+?)` has not been defined")


class _OutputTooLarge(Exception):
    pass


def _bounded_bytes(buf: Any) -> bytes:
    if len(buf) > OUTPUT_MAX_BYTES:
        raise _OutputTooLarge(len(buf))
    return bytes(buf)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MiB"


def _load_error(plugin_id: str, entry: str, message: str) -> AlephError:
    match = _UNKNOWN_IMPORT.search(message)
    if match:
        module, name = match.groups()
        if module == NAMESPACE and name in API_OF_FUNCTION:
            return ScopeDenied(plugin_id, f"plugin imports {name} but was not granted the "
                                          f"'{API_OF_FUNCTION[name]}' API")
        return ManifestError(plugin_id, f"{entry} imports {name} from '{module}', which Aleph does not provide")
    detail = message.removeprefix("Unable to compile Extism plugin: ").splitlines()[0].strip()
    return ManifestError(plugin_id, f"{entry} is not a valid WebAssembly module ({detail})")


# -- one instance ----------------------------------------------------------------------------------

@dataclass
class _Instance:
    """One extism.Plugin (created on first use), called one at a time."""

    compiled: CompiledPlugin
    timeout_ms: int
    plugin: extism.Plugin | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    exports: dict[str, bool] = field(default_factory=dict)


class WasmRuntime(PluginRuntime):
    """One loaded version of one WASM plugin."""

    supports_blocking_hooks = True

    def __init__(self, ctx: RuntimeContext, cache: CompileCache | None = None) -> None:
        super().__init__(ctx)
        self._cache = cache or shared_compile_cache()
        self._host = GuestBinding(ctx.host)
        self._functions = host_functions(ctx.scope.allowed_apis)
        self._function_names = [f.name for f in self._functions]
        self._config = extism_config(ctx)
        self._instances: dict[int, _Instance] = {}
        self._instances_lock = threading.Lock()
        self._counts_lock = threading.Lock()
        self._entry_path: Path | None = None
        self._module: bytes | None = None
        self._started = False
        self._stopped = False
        self._failed: str | None = None
        self._cache_hit = False
        self._load_ms = 0.0
        self.calls = 0
        self.failures = 0
        self.timeouts = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None

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

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.start_blocking)

    def start_blocking(self) -> None:
        """Compile (or take from the cache) and instantiate, so a bad module fails here, not at a call."""
        began = time.perf_counter()
        manifest = self.ctx.manifest
        entry = manifest.entry or "plugin.wasm"
        reason = path_escape_reason(self.ctx.root, entry)
        if reason:
            raise ManifestError(self.plugin_id, f"entry {reason}")
        path = (self.ctx.root / entry).resolve()
        if not path.is_file():
            raise ManifestError(self.plugin_id, f"entry file {entry} does not exist; build the plugin first")
        self._entry_path = path
        for host, guest in allowed_paths(self.ctx.scope, self.ctx.root).items():
            if not Path(host.removeprefix("ro:")).is_dir():
                self.ctx.log("warning", f"granted folder {guest} does not exist; the plugin cannot see it")
        timeouts = {self.tool_timeout_ms}
        timeouts.update(self.hook_timeout_ms(c.handler_name) for c in manifest.of_type("hook"))
        self._cache_hit = True
        for timeout_ms in sorted(timeouts):
            self._instance(timeout_ms)
        # Instantiate one now so a module with imports it was not granted fails here; the others
        # (same module, same imports) are instantiated on first use, which keeps a load under 1 ms.
        first = self._instances[self.tool_timeout_ms if manifest.of_type("tool") else min(timeouts)]
        first.plugin = self._new_plugin(first.compiled)
        self._started = True
        self._load_ms = (time.perf_counter() - began) * 1000
        log.debug("%s: loaded %s in %.2f ms (compiled cache hit: %s)", self.plugin_id, entry, self._load_ms,
                  self._cache_hit)

    async def stop(self) -> None:
        # An in-flight call keeps its instance until it returns (bounded by its time limit); it is
        # never cancelled, because cancelling would also abort a sibling runtime's call. Calls
        # waiting for the instance see `_stopped` and give up.
        self._stopped = True
        with self._instances_lock:
            self._instances.clear()
        self._module = None

    def _read_module(self) -> bytes:
        if self._module is None:
            assert self._entry_path is not None
            try:
                self._module = self._entry_path.read_bytes()
            except OSError as exc:
                raise ManifestError(self.plugin_id, f"cannot read {self.ctx.manifest.entry}: {exc.strerror}") from exc
        return self._module

    def _compiled(self, timeout_ms: int) -> CompiledPlugin:
        assert self._entry_path is not None
        manifest = build_extism_manifest(self.ctx, timeout_ms)
        try:
            key = self._cache.key(self._entry_path, manifest, self._function_names)
        except OSError as exc:
            raise ManifestError(self.plugin_id, f"cannot read {self.ctx.manifest.entry}: {exc.strerror}") from exc
        compiled = self._cache.get(key)
        if compiled is None:
            self._cache_hit = False
            entry = self.ctx.manifest.entry or "plugin.wasm"
            try:
                compiled = CompiledPlugin({**manifest, "wasm": [{"data": self._read_module()}]},
                                          wasi=True, functions=self._functions)
            except extism.Error as exc:
                raise _load_error(self.plugin_id, entry, str(exc)) from exc
            self._cache.put(key, compiled)
        return compiled

    def _new_plugin(self, compiled: CompiledPlugin) -> extism.Plugin:
        try:
            return extism.Plugin(compiled, config=self._config, functions=self._functions)
        except extism.Error as exc:
            raise _load_error(self.plugin_id, self.ctx.manifest.entry or "plugin.wasm", str(exc)) from exc

    def _instance(self, timeout_ms: int) -> _Instance:
        with self._instances_lock:
            inst = self._instances.get(timeout_ms)
            if inst is None:
                inst = _Instance(compiled=self._compiled(timeout_ms), timeout_ms=timeout_ms)
                self._instances[timeout_ms] = inst
            return inst

    # -- calls -------------------------------------------------------------------------------------
    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        return await offloader().run(self.call_tool_blocking, tool, arguments)

    def call_tool_blocking(self, tool: str, arguments: dict[str, Any]) -> Any:
        cap = self.ctx.manifest.tool(tool)
        if cap is None:
            raise PluginCallError(self.plugin_id, f"has no tool named '{tool}'")
        try:
            data = json.dumps(arguments).encode()
        except (TypeError, ValueError) as exc:
            raise PluginCallError(self.plugin_id, f"arguments of '{tool}' are not JSON: {exc}") from exc
        out = self._call(cap.handler_name, data, self.tool_timeout_ms, f"tool '{tool}'", PluginTimeout)
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
        limit = clamp_timeout(timeout_ms, DEFAULT_HOOK_TIMEOUT_MS) if timeout_ms else self.hook_timeout_ms(handler)
        data = json.dumps(event).encode()
        out = self._call(handler, data, limit, f"hook handler '{handler}'", HookTimeout)
        if not out.strip():
            return result_from_json(None)
        try:
            return result_from_json(json.loads(out))
        except (ValueError, BadHookAnswer) as exc:
            err = PluginCallError(self.plugin_id, f"hook handler '{handler}' answered something that is not "
                                                  f"a hook decision: {exc}")
            self._count_failure(err)
            raise err from exc

    def _call(self, export: str, data: bytes, timeout_ms: int, what: str,
              timeout_error: type[PluginTimeout]) -> bytes:
        if self._failed is not None:
            raise PluginFailed(self.plugin_id, f"failed {FAILURES_BEFORE_FAILED} calls in a row and stays off "
                                               f"until it is reloaded (last error: {self._failed})")
        if self._stopped or not self._started:
            raise PluginNotRunnable(self.plugin_id, "is not running")
        inst = self._instance(timeout_ms)
        with inst.lock:
            if self._stopped:  # stopped while waiting for the instance
                raise PluginNotRunnable(self.plugin_id, "is not running")
            if inst.plugin is None:
                inst.plugin = self._new_plugin(inst.compiled)
            plugin = inst.plugin
            exists = inst.exports.get(export)
            if exists is None:
                exists = inst.exports[export] = bool(plugin.function_exists(export))
            if not exists:
                err = PluginCallError(self.plugin_id, f"{what} names the export '{export}', which the module "
                                                      "does not have")
                self._count_failure(err)
                raise err
            self._host.begin_call()
            errors_before = self._host.host_errors
            try:
                out = plugin.call(export, data, parse=_bounded_bytes, host_context=self._host)
            except _OutputTooLarge as exc:
                err = PluginCallError(self.plugin_id, f"{what} returned {_mib(int(exc.args[0]))} of output; "
                                                      f"the limit is {_mib(OUTPUT_MAX_BYTES)}")
                self._count_failure(err)
                raise err from None
            except extism.Error as exc:
                err, fault = self._call_error(str(exc), what, timeout_ms, timeout_error, errors_before)
                if fault:
                    # a timed-out or trapped instance may be half-way through anything: start afresh
                    inst.plugin = None
                    inst.plugin = self._new_plugin(inst.compiled)
                    self._count_failure(err)
                else:
                    self._count_refusal(err)
                raise err from None
        with self._counts_lock:
            self.calls += 1
            self.consecutive_failures = 0
        return out

    def _call_error(self, message: str, what: str, timeout_ms: int, timeout_error: type[PluginTimeout],
                    errors_before: int) -> tuple[PluginCallError, bool]:
        """The error sentence, and whether it is a fault (counts toward `failed`) rather than the
        plugin's own error answer (`error_set`, e.g. refusing bad arguments)."""
        if message == "timeout":
            with self._counts_lock:
                self.timeouts += 1
            return timeout_error(self.plugin_id, f"{what} did not finish within {timeout_ms} ms and was "
                                                 "stopped"), True
        if message == "oom":
            mb = memory_limit_mb(self.ctx.manifest.limits.memory_mb)
            return PluginCallError(self.plugin_id, f"{what} ran out of memory (the limit is {mb} MiB)"), True
        fault = message.startswith("error while executing at wasm backtrace")
        if fault:
            text = (f"{what} crashed inside WebAssembly (a trap such as 'unreachable' or an out-of-bounds "
                    "access, or a request the sandbox refused")
            hosts = allowed_hosts(self.ctx.scope)
            text += ": network access is " + (f"limited to {', '.join(hosts)})" if hosts else "not granted)")
        else:
            text = f"{what} failed: {message.strip()[:500] or 'no error message'}"
        if self._host.host_errors > errors_before and self._host.last_host_error:
            text += f" after {self._host.last_host_error}"
        return PluginCallError(self.plugin_id, text), fault

    def _count_refusal(self, err: AlephError) -> None:
        """The plugin answered with an error of its own: reported, but it is working."""
        with self._counts_lock:
            self.calls += 1
            self.consecutive_failures = 0
            self.last_error = str(err)
        self.ctx.log("warning", err.message)

    def _count_failure(self, err: AlephError) -> None:
        with self._counts_lock:
            self.calls += 1
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = str(err)
            just_failed = self.consecutive_failures >= FAILURES_BEFORE_FAILED and self._failed is None
            if just_failed:
                self._failed = err.message
        self.ctx.log("error", err.message)
        if just_failed:
            self.ctx.report_state("failed", err.message)

    # -- facts for the UI ----------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        with self._instances_lock:
            timeouts = sorted(self._instances)
        return {
            "runtime": "wasm",
            "extism": extism.extism_version(),
            "entry": self.ctx.manifest.entry,
            "running": self._started and not self._stopped,
            "compiled_cache_hit": self._cache_hit,
            "load_ms": round(self._load_ms, 3),
            "memory_limit_mb": memory_limit_mb(self.ctx.manifest.limits.memory_mb),
            "tool_timeout_ms": self.tool_timeout_ms,
            "hook_timeout_ms": self.hook_timeout_ms(),
            "instances": len(timeouts),
            "instance_timeouts_ms": timeouts,
            "host_functions": list(self._function_names),
            "allowed_paths": allowed_paths(self.ctx.scope, self.ctx.root),
            "allowed_hosts": allowed_hosts(self.ctx.scope),
            "calls": self.calls,
            "failures": self.failures,
            "timeouts": self.timeouts,
            "consecutive_failures": self.consecutive_failures,
            "host_errors": self._host.host_errors,
            "last_error": self.last_error,
            "failed": self._failed is not None,
        }
