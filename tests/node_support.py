"""Helpers for the Node.js runtime tests: build a runtime for a plugin folder with a tmp_path home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest
from runtime_support import runtime_context

from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.manifest.model import Capability, PluginManifest
from aleph_gui.core.runtime.node import NodeRuntime
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB

DATA = Path(__file__).parent / "data" / "node"
DEMOS = Path(__file__).parent.parent / "plugins_demo"

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@dataclass
class Harness:
    """A runtime plus everything it told the manager: log lines, registrations, state reports."""

    runtime: NodeRuntime
    state: StateDB = None  # type: ignore[assignment]  # the home's database (the runtime never sees it)
    logs: list[tuple[str, str]] = field(default_factory=list)
    registered: list[Capability] = field(default_factory=list)
    undone: list[Capability] = field(default_factory=list)
    states: list[tuple[str, str]] = field(default_factory=list)

    def log_text(self) -> str:
        return "\n".join(f"{level}: {msg}" for level, msg in self.logs)


def load_manifest(folder: Path) -> PluginManifest:
    result = load_plugin_folder(folder)
    assert result.manifest is not None, result.problems
    return result.manifest


def make_runtime(folder: Path, home: Path, scope: Scope | None = None, **options: Any) -> Harness:
    manifest = load_manifest(folder)
    harness = Harness(runtime=None)  # type: ignore[arg-type]

    def register(cap: Capability):  # type: ignore[no-untyped-def]
        harness.registered.append(cap)
        return lambda: harness.undone.append(cap)

    harness.state = StateDB(home / "state.db")
    ctx = runtime_context(
        manifest, folder, harness.state, scope=scope,
        log=lambda level, msg: harness.logs.append((level, msg)),
        register=register,
        report_state=lambda state, reason: harness.states.append((state, reason)),
    )
    harness.runtime = NodeRuntime(ctx, **options)
    return harness


def process_gone(pid: int) -> bool:
    """True when the process no longer exists at all: exited *and* reaped (a zombie still counts)."""
    try:
        psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    return False
