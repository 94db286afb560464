"""The instances of one WASM runtime: one per time limit, each from its own compiled module.

An instance is created without running any plugin code (`wasm_module.py` turned the module's
start-up code into exports), and then its start-up exports are called as ordinary Extism calls,
under the instance's own time limit.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import extism
from extism.extism import CompiledPlugin

from aleph_gui.core.errors import ManifestError, PluginCallError
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.runtime.wasm_cache import CompileCache
from aleph_gui.core.runtime.wasm_errors import load_error, start_error
from aleph_gui.core.runtime.wasm_host import GuestBinding, HostErrors, host_functions
from aleph_gui.core.runtime.wasm_manifest import (
    allowed_hosts,
    allowed_paths,
    build_extism_manifest,
    extism_config,
    memory_limit_mb,
)
from aleph_gui.core.runtime.wasm_module import (
    ModuleFormatError,
    UnsupportedModule,
    boot_exports,
    prepare_module,
)
from aleph_gui.core.runtime.wasm_timer import calm_extism_timer

# Before this process makes its first plugin, so Extism's timer thread can be found (wasm_timer.py).
calm_extism_timer()


@dataclass
class Instance:
    """One extism.Plugin (created and started on first use), called one at a time."""

    compiled: CompiledPlugin
    timeout_ms: int
    guest: GuestBinding
    plugin: extism.Plugin | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    exports: dict[str, bool] = field(default_factory=dict)


class Instances:
    """Compiles the plugin's module (through the cache) and makes and starts its instances."""

    def __init__(self, ctx: RuntimeContext, cache: CompileCache) -> None:
        self.ctx = ctx
        self.plugin_id = ctx.manifest.id
        self.entry = ctx.manifest.entry or "plugin.wasm"
        self._cache = cache
        self.functions = host_functions(ctx.scope.allowed_apis)
        self.function_names = [f.name for f in self.functions]
        self._config = extism_config(ctx)
        self.hosts = allowed_hosts(ctx.scope)
        self.memory_mb = memory_limit_mb(ctx.manifest.limits.memory_mb)
        self.host_errors = HostErrors()
        self.by_timeout: dict[int, Instance] = {}  # read without the lock on the call path
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._module: bytes | None = None
        self.cache_hit = True  # until something had to be compiled

    def open(self) -> None:
        """Check the entry file (and log granted folders that do not exist)."""
        reason = path_escape_reason(self.ctx.root, self.entry)
        if reason:
            raise ManifestError(self.plugin_id, f"entry {reason}")
        path = (self.ctx.root / self.entry).resolve()
        if not path.is_file():
            raise ManifestError(self.plugin_id, f"entry file {self.entry} does not exist; build the plugin first")
        self._path = path
        for host, guest in allowed_paths(self.ctx.scope, self.ctx.root).items():
            if not Path(host.removeprefix("ro:")).is_dir():
                self.ctx.log("warning", f"granted folder {guest} does not exist; the plugin cannot see it")

    def get(self, timeout_ms: int) -> Instance:
        """The instance for this time limit (compiled now if needed; its plugin is made on first use)."""
        with self._lock:
            inst = self.by_timeout.get(timeout_ms)
            if inst is None:
                guest = GuestBinding(self.ctx.host, self.host_errors, self.hosts)
                inst = Instance(compiled=self._compiled(timeout_ms), timeout_ms=timeout_ms, guest=guest)
                self.by_timeout[timeout_ms] = inst
            return inst

    def clear(self) -> None:
        with self._lock:
            self.by_timeout.clear()
        self._module = None

    def timeouts(self) -> list[int]:
        with self._lock:
            return sorted(self.by_timeout)

    def _read_module(self) -> bytes:
        if self._module is None:
            assert self._path is not None
            try:
                raw = self._path.read_bytes()
            except OSError as exc:
                raise ManifestError(self.plugin_id, f"cannot read {self.entry}: {exc.strerror}") from exc
            try:
                self._module = prepare_module(raw)
            except ModuleFormatError as exc:
                raise ManifestError(self.plugin_id, f"{self.entry} is not a valid WebAssembly module ({exc})") from exc
            except UnsupportedModule as exc:
                raise ManifestError(self.plugin_id, f"{self.entry} cannot be loaded: {exc}") from exc
        return self._module

    def _compiled(self, timeout_ms: int) -> CompiledPlugin:
        assert self._path is not None
        manifest = build_extism_manifest(self.ctx, timeout_ms)
        try:
            key = self._cache.key(self._path, manifest, self.function_names)
        except OSError as exc:
            raise ManifestError(self.plugin_id, f"cannot read {self.entry}: {exc.strerror}") from exc
        compiled = self._cache.get(key)
        if compiled is None:
            self.cache_hit = False
            try:
                compiled = CompiledPlugin({**manifest, "wasm": [{"data": self._read_module()}]},
                                          wasi=True, functions=self.functions)
            except extism.Error as exc:
                raise load_error(self.plugin_id, self.entry, str(exc)) from exc
            self._cache.put(key, compiled)
        return compiled

    def new_plugin(self, inst: Instance) -> extism.Plugin:
        """A fresh instance (which runs no plugin code), then its start-up code under its time limit."""
        try:
            plugin = extism.Plugin(inst.compiled, config=self._config, functions=self.functions)
        except extism.Error as exc:
            raise load_error(self.plugin_id, self.entry, str(exc)) from exc
        for names in boot_exports():
            name = next((n for n in names if plugin.function_exists(n)), None)
            if name is None:
                continue
            inst.guest.begin_call(inst.timeout_ms)
            try:
                plugin.call(name, b"", host_context=inst.guest)
            except extism.Error as exc:
                raise start_error(self.plugin_id, self.entry, str(exc), inst.timeout_ms, self.memory_mb) from None
            if inst.guest.refusal:
                raise PluginCallError(self.plugin_id, f"{self.entry} was refused while starting: it "
                                                      f"{inst.guest.refusal}")
        return plugin
