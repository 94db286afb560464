"""A plugin's granted scope as its OS sandbox: what every plugin process (Node.js plugin, command hook,
MCP stdio server) is started in.

Folders are granted at their resolved paths (read-only or read-write), the network as granted
('none', a host allow-list through the filtering proxy, or 'any'), and nothing else of the home
folder is visible. Where this system has no sandbox (`sandbox_status()`), processes run as the user
and every affected permission says so (review.py) — never "enforced".
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from aleph_gui.core.sandbox import (
    FilteringProxy,
    SandboxPolicy,
    SandboxStatus,
    bwrap_argv,
    sandbox_status,
)
from aleph_gui.core.sandbox.policy import Network
from aleph_gui.core.scope import Scope

# What a plugin process inherits from the app where no sandbox sets its environment (command hooks, MCP
# servers): the basics a program needs, never the app's secrets (API keys, tokens).
PROCESS_ENV_KEPT = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE",
                    "LC_MESSAGES", "TZ", "TMPDIR", "TERM")


def process_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in PROCESS_ENV_KEPT if k in os.environ}
    env.setdefault("PATH", os.defpath)
    return env


def granted_folders(scope: Scope, root: Path) -> tuple[list[str], list[str]]:
    """(read-only, read-write) folders of a granted scope, resolved (relative ones from the plugin folder)."""
    fa = scope.file_access
    if fa.mode == "none":
        return [], []
    paths = []
    for written in sorted(set(fa.paths)) or ["/"]:
        path = Path(os.path.expanduser("/" if written == "*" else written))
        paths.append(os.path.realpath(path if path.is_absolute() else root / path))
    return (paths, []) if fa.mode == "read" else ([], paths)


def granted_network(scope: Scope) -> tuple[Network, list[str]]:
    na = scope.network_access
    if na.mode == "any":
        return "any", []
    if na.mode == "allow" and na.hosts:
        return "hosts", sorted(set(na.hosts))
    return "none", []


def plugin_policy(plugin_id: str, root: Path, scope: Scope, *, runtime_paths: Iterable[str] = (),
                  env: Mapping[str, str] | None = None) -> SandboxPolicy:
    """The sandbox of one plugin's processes; raises SandboxPolicyError for a grant no sandbox can give."""
    read_only, read_write = granted_folders(scope, root)
    network, hosts = granted_network(scope)
    return SandboxPolicy.build(plugin_id, root, read_only=read_only, read_write=read_write, network=network,
                               hosts=hosts, runtime_paths=[p for p in runtime_paths if p], env=env)


def status_sentence(status: SandboxStatus | None = None) -> str:
    """For a plugin's status: what its processes run in."""
    status = status or sandbox_status()
    return f"bubblewrap {status.version}" if status.available else f"not sandboxed: {status.sentence}"


class ProcessSandbox:
    """Wraps argv lists in one plugin's sandbox, running the filtering proxy while a host list is granted.
    When this system has no sandbox, argv is returned unchanged (and `sandboxed` is False)."""

    def __init__(self, policy: SandboxPolicy, log: Callable[[str], None] | None = None) -> None:
        self.policy = policy
        self.status = sandbox_status()
        self._log = log
        self._proxy: FilteringProxy | None = None

    @property
    def sandboxed(self) -> bool:
        return self.status.available

    async def wrap(self, argv: list[str], env: Mapping[str, str] | None = None) -> list[str]:
        """`argv` in the sandbox; `env` is added to the policy's environment for this process only."""
        if not self.sandboxed:
            return argv
        if self.policy.network == "hosts" and self._proxy is None:
            self._proxy = await FilteringProxy.start(self.policy.plugin_id, self.policy.hosts, on_refused=self._log)
        proxy = self._proxy.socket_path if self._proxy is not None else None
        policy = self.policy
        if env:
            policy = dataclasses.replace(policy, env=tuple(sorted({**policy.environment, **env}.items())))
        return bwrap_argv(policy, argv, proxy_socket=proxy, status=self.status)

    async def close(self) -> None:
        if self._proxy is not None:
            proxy, self._proxy = self._proxy, None
            await proxy.close()
