"""Helpers for the WASM runtime tests: plugin folders around the modules in tests/data/wasm,
and a runtime harness that records what the plugin told the manager."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime_support import runtime_context

from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.manifest.model import Capability, Limits, PluginManifest
from aleph_gui.core.runtime.wasm import CompileCache, WasmRuntime
from aleph_gui.core.scope import FileAccess, NetworkAccess, Scope
from aleph_gui.core.state import StateDB

DATA = Path(__file__).parent / "data" / "wasm"
DEMOS = Path(__file__).parent.parent / "plugins_demo"
NOTES_DEMO = DEMOS / "wasm-notes"
NOTES_WASM = NOTES_DEMO / "notes.wasm"


@dataclass
class Harness:
    runtime: WasmRuntime
    logs: list[tuple[str, str]] = field(default_factory=list)
    states: list[tuple[str, str]] = field(default_factory=list)

    def log_text(self) -> str:
        return "\n".join(f"{level}: {msg}" for level, msg in self.logs)


def plugin_folder(parent: Path, module: str, plugin_id: str = "wasm-test") -> Path:
    """A plugin folder holding a copy of one test module (so tests can change it)."""
    root = parent / plugin_id
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / module, root / module)
    return root


def manifest(module: str, *, plugin_id: str = "wasm-test", tools: dict[str, str] | None = None,
             hooks: dict[str, str] | None = None, scope: Scope | None = None, memory_mb: int = 16,
             tool_timeout_ms: int | None = None, hook_timeout_ms: int | None = None,
             config: dict[str, Any] | None = None) -> PluginManifest:
    """A manifest built directly: tools maps tool name -> export, hooks maps event -> export."""
    caps = [Capability(type="tool", name=name, handler=export) for name, export in (tools or {}).items()]
    caps += [Capability(type="hook", event=event, handler=export) for event, export in (hooks or {}).items()]
    return PluginManifest(id=plugin_id, name=plugin_id, version="1.0.0", kind="wasm", format="aleph-toml",
                          manifest_file="aleph.plugin.toml", entry=module, capabilities=caps,
                          scope=scope or Scope(),
                          limits=Limits(memory_mb=memory_mb, tool_timeout_ms=tool_timeout_ms,
                                        hook_timeout_ms=hook_timeout_ms),
                          config_defaults=config or {})


def make_runtime(root: Path, man: PluginManifest, state: StateDB, *, scope: Scope | None = None,
                 config: dict[str, Any] | None = None, cache: CompileCache | None = None) -> Harness:
    harness = Harness(runtime=None)  # type: ignore[arg-type]
    ctx = runtime_context(man, root, state, scope=scope, config=config,
                          log=lambda level, msg: harness.logs.append((level, msg)),
                          report_state=lambda st, reason: harness.states.append((st, reason)))
    harness.runtime = WasmRuntime(ctx, cache=cache if cache is not None else CompileCache())
    return harness


def load_demo(folder: Path) -> PluginManifest:
    result = load_plugin_folder(folder)
    assert result.manifest is not None, result.problems
    return result.manifest


def files_scope(mode: str, *paths: str) -> Scope:
    return Scope(allowed_apis=["log"], file_access=FileAccess(mode=mode, paths=list(paths)))  # type: ignore[arg-type]


def net_scope(mode: str, *hosts: str) -> Scope:
    return Scope(allowed_apis=["log"], network_access=NetworkAccess(mode=mode, hosts=list(hosts)))  # type: ignore[arg-type]


def ensure_notes_built() -> Path:
    """The AssemblyScript demo is a build output: build it when `make demo-build` has not."""
    if not NOTES_WASM.is_file():
        subprocess.run(["make", "-C", str(NOTES_DEMO), "all"], check=True, capture_output=True, timeout=600)
    assert NOTES_WASM.is_file(), "make -C plugins_demo/wasm-notes did not produce notes.wasm"
    return NOTES_WASM
