"""Helpers for the sandbox tests: a fake home with secrets beside the grants, and runners for a
real command in a fresh sandbox (bwrap per process) or in a persistent one."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from aleph_gui.core.sandbox import PersistentSandbox, SandboxedProcess, SandboxPolicy, sandbox_status

SYSTEM_PYTHON = "/usr/bin/python3"  # in /usr, so visible in every sandbox without extra binds

needs_sandbox = pytest.mark.skipif(not sandbox_status().available,
                                   reason=f"no OS sandbox here: {sandbox_status().reason}")
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
needs_system_python = pytest.mark.skipif(not Path(SYSTEM_PYTHON).exists(), reason="no /usr/bin/python3")


@dataclass
class Layout:
    """A home folder holding a plugin, a granted folder and secrets; and a folder outside home."""

    home: Path
    plugin: Path
    documents: Path  # granted read-only
    workspace: Path  # granted read-write
    sibling: Path  # beside the read-write grant, not granted
    home_secret: Path
    outside_secret: Path
    logs: list[str] = field(default_factory=list)

    def policy(self, **overrides: Any) -> SandboxPolicy:
        options: dict[str, Any] = {"read_only": [self.documents], "read_write": [self.workspace]}
        options.update(overrides)
        return SandboxPolicy.build("escape-test", self.plugin, **options)


def make_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Layout:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    plugin = home / ".aleph" / "plugins" / "escape-test"
    documents = home / "Documents"
    workspace = tmp_path / "work" / "granted"
    sibling = tmp_path / "work" / "sibling"
    for folder in (plugin, documents, workspace, sibling, home / ".ssh", tmp_path / "elsewhere"):
        folder.mkdir(parents=True, exist_ok=True)
    (plugin / "index.js").write_text("// the plugin's own code\n")
    (documents / "notes.txt").write_text("granted notes\n")
    home_secret = home / ".ssh" / "id_rsa"
    home_secret.write_text("HOME-SECRET-KEY\n")
    outside_secret = tmp_path / "elsewhere" / "secret.txt"
    outside_secret.write_text("OUTSIDE-SECRET\n")
    (sibling / "keep.txt").write_text("sibling data\n")
    return Layout(home.resolve(), plugin.resolve(), documents.resolve(), workspace.resolve(), sibling.resolve(),
                  home_secret.resolve(), outside_secret.resolve())


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


async def run_fresh(policy: SandboxPolicy, argv: list[str], input: bytes | None = None,
                    log: Callable[[str], None] | None = None) -> Ran:
    """`argv` in a fresh bwrap (how a Node plugin or an MCP server runs)."""
    sandboxed = await SandboxedProcess.start(policy, argv, log=log)
    try:
        out, err = await asyncio.wait_for(sandboxed.process.communicate(input), 60)
    finally:
        await sandboxed.aclose()
    assert sandboxed.process.returncode is not None
    return Ran(sandboxed.process.returncode, out.decode(), err.decode())


async def run_persistent(sandbox: PersistentSandbox, argv: list[str], input: bytes | None = None) -> Ran:
    """`argv` through a persistent sandbox (how a command hook runs)."""
    proc = await sandbox.spawn(argv)
    out, err = await asyncio.wait_for(proc.communicate(input), 60)
    return Ran(await proc.wait(), out.decode(), err.decode())


def python(code: str) -> list[str]:
    return [SYSTEM_PYTHON, "-I", "-S", "-c", code]


def descendants(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
