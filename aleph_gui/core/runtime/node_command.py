"""How a Node.js plugin's process is started: which `node`, which version, and the exact command line.

`NodeLauncher` finds and checks `node` once and builds each process's command, in the plugin's OS
sandbox where this system has one (`sandboxing.py`). The command line is the inner layer of the plugin's
confinement: Node's permission model reads only the
plugin folder and the granted folders, writes only granted folders, and starts children or workers only
with the `shell` grant. The environment carries nothing of the user's but the basics (no API keys, no
NODE_OPTIONS).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import RuntimeUnavailable
from aleph_gui.core.manifest.model import PluginManifest
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.runtime.sandboxing import ProcessSandbox, plugin_policy
from aleph_gui.core.sandbox import INSIDE_NODE_PRELOAD, SandboxPolicy, default_env, sandbox_status
from aleph_gui.core.sandbox.policy import executable_prefixes
from aleph_gui.core.scope import Scope

HOST_SCRIPT = Path(__file__).resolve().parent / "node_host.js"
MIN_NODE_MAJOR = 20
ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")

Version = tuple[int, int, int]


@functools.cache
def _node_version_of(node: str, _mtime_ns: int) -> Version | None:
    """`node --version`, cached per binary (the mtime in the key notices an upgrade)."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=15, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.match(out.stdout.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def node_version(node: str) -> Version | None:
    try:
        mtime = os.stat(node).st_mtime_ns
    except OSError:
        return None
    return _node_version_of(node, mtime)


def find_node(explicit: str | os.PathLike[str] | None = None) -> str | None:
    """The node binary: constructor argument, else $ALEPH_NODE, else `node` on PATH."""
    candidate = str(explicit) if explicit else os.environ.get("ALEPH_NODE") or "node"
    if os.sep in candidate:
        return candidate if os.access(candidate, os.X_OK) else None
    return shutil.which(candidate)


def usable_node(plugin_id: str, explicit: str | os.PathLike[str] | None) -> tuple[str, Version]:
    """The node binary and its version, or RuntimeUnavailable saying what is missing. Blocks (runs node)."""
    node = find_node(explicit)
    if node is None:
        raise RuntimeUnavailable(plugin_id, "Node.js >= 20 is required, but node was not found "
                                            "(install Node.js 20 or set ALEPH_NODE)")
    version = node_version(node)
    if version is None or version[0] < MIN_NODE_MAJOR:
        found = ".".join(map(str, version)) if version else "an unknown version"
        raise RuntimeUnavailable(plugin_id, f"Node.js >= 20 is required, but {node} is {found}")
    return node, version


def permission_flag(version: Version) -> str:
    # Node 22.13 / 23.5 made the permission model stable under a new flag name.
    major, minor, _ = version
    stable = major >= 24 or (major == 23 and minor >= 5) or (major == 22 and minor >= 13)
    return "--permission" if stable else "--experimental-permission"


def granted_paths(paths: list[str], root: Path) -> list[str]:
    """Granted folders resolved (a relative one is inside the plugin folder); `*` = everything."""
    out = []
    for p in paths or ["/"]:
        if p in ("/", "*"):
            return ["*"]
        path = Path(os.path.expanduser(p))
        out.append(os.path.realpath(path if path.is_absolute() else root / path))
    return out


def node_command(node: str, version: Version, *, plugin_id: str, root: Path, manifest: PluginManifest, scope: Scope,
                 config: dict[str, Any], extra_reads: list[str]) -> tuple[list[str], dict[str, str]]:
    """argv and environment of the plugin process: exactly the granted scope, nothing more."""
    module = manifest.node_shape == "module"
    entry = str((root / (manifest.entry or "")).resolve())
    reads = [str(root), *extra_reads]
    writes: list[str] = []
    fa = scope.file_access
    if fa.mode in ("read", "read_write"):
        reads += granted_paths(fa.paths, root)
    if fa.mode == "read_write":
        writes += granted_paths(fa.paths, root)
    if module:
        reads.append(str(HOST_SCRIPT))
    argv = [node, permission_flag(version)]
    for path in (["*"] if "*" in reads else dict.fromkeys(reads)):
        argv.append(f"--allow-fs-read={path}")
    for path in (["*"] if "*" in writes else dict.fromkeys(writes)):
        argv.append(f"--allow-fs-write={path}")
    if scope.shell:
        argv += ["--allow-child-process", "--allow-worker"]
    argv += [str(HOST_SCRIPT), entry] if module else [entry]
    env = {k: os.environ[k] for k in ENV_KEPT if k in os.environ}
    env.update(ALEPH_PLUGIN_ID=plugin_id, ALEPH_PLUGIN_ROOT=str(root), ALEPH_PLUGIN_CONFIG=json.dumps(config))
    return argv, env


class NodeLauncher:
    """One plugin's `node`: found and checked once (`prepare`), then the argv and environment of each
    process, wrapped in the plugin's OS sandbox where this system has one."""

    def __init__(self, ctx: RuntimeContext, node_path: str | os.PathLike[str] | None) -> None:
        self.ctx = ctx
        self._node_arg = node_path
        self.node: str | None = None
        self.version: Version | None = None
        self._policy: SandboxPolicy | None = None  # None: this system has no OS sandbox
        self._sandbox: ProcessSandbox | None = None

    async def prepare(self) -> None:
        """Find node (RuntimeUnavailable when missing or too old) and build the sandbox policy, which
        refuses a grant no sandbox can give, before anything runs."""
        self.node, self.version = await asyncio.to_thread(usable_node, self.ctx.plugin_id, self._node_arg)
        if sandbox_status().available:
            self._policy = self._sandbox_policy()

    async def command(self, config: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        """argv and env to spawn: wrapped in bubblewrap (which sets the environment itself), or as is where
        this system has no sandbox."""
        assert self.node is not None and self.version is not None
        hosts = self._policy is not None and self._policy.network == "hosts"
        argv, env = node_command(self.node, self.version, plugin_id=self.ctx.plugin_id, root=self.ctx.root,
                                 manifest=self.ctx.manifest, scope=self.ctx.scope, config=config,
                                 # the preload points fetch/http at the filtering proxy
                                 extra_reads=[INSIDE_NODE_PRELOAD] if hosts else [])
        if self._policy is None:
            return argv, env
        policy = self._sandbox_policy({k: v for k, v in env.items() if k not in ("PATH", "HOME", "TMPDIR")})
        if self._sandbox is None or self._sandbox.policy != policy:
            await self.close()
            self._sandbox = ProcessSandbox(policy, log=lambda line: self.ctx.log("warning", line))
        return await self._sandbox.wrap(argv), {}

    async def close(self) -> None:
        """Stop what the sandbox runs beside the process (its filtering proxy)."""
        sandbox, self._sandbox = self._sandbox, None
        if sandbox is not None:
            await sandbox.close()

    def _sandbox_policy(self, env: dict[str, str] | None = None) -> SandboxPolicy:
        """The OS sandbox of this plugin's process: its folder, its granted folders and network."""
        assert self.node is not None
        return plugin_policy(self.ctx.plugin_id, self.ctx.root, self.ctx.scope,
                             runtime_paths=[*executable_prefixes(self.node), str(HOST_SCRIPT)],
                             env={**default_env(), **(env or {})})
