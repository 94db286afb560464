"""How a Node.js plugin's process is started: which `node`, which version, and the exact command line.

The command line is the inner layer of the plugin's confinement: Node's permission model reads only the
plugin folder and the granted folders, writes only granted folders, and starts children or workers only
with the `shell` grant. The environment carries nothing of the user's but the basics (no API keys, no
NODE_OPTIONS). The outer layer, the OS sandbox, is `sandboxing.py`.
"""

from __future__ import annotations

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
