"""The OS sandbox around every plugin process (Node plugins, command hooks, MCP stdio servers).

Linux only, with bubblewrap. Public API:

* `sandbox_status()` -> `SandboxStatus`: available (bwrap version) or not, with the reason.
* `SandboxPolicy.build(plugin_id, plugin_dir, read_only=, read_write=, network=, hosts=,
  runtime_paths=, env=)`: canonical paths, refused grants raise `SandboxPolicyError`.
* `bwrap_argv(policy, argv, proxy_socket=)`: the argv for one sandboxed process.
* `FilteringProxy.start(plugin_id, hosts, on_refused=)`: the host allow-list proxy (network 'hosts').
* `SandboxedProcess.start(policy, argv, log=)`: proxy + bwrap + asyncio process in one call.
* `PersistentSandbox.start(policy, log=)` / `.spawn(argv, env=, cwd=)`: fast repeated commands.
* `network_enforcement(policy)` -> `Enforcement(enforced, sentence)`: what to show the user.
* `executable_prefixes(binary)`, `python_prefix()`: runtime folders to pass as `runtime_paths`.
* `INSIDE_NODE_PRELOAD`: the in-sandbox path of the Node proxy preload (network 'hosts').
"""

from __future__ import annotations

from aleph_gui.core.sandbox.bwrap import bwrap_argv
from aleph_gui.core.sandbox.enforcement import Enforcement, network_enforcement
from aleph_gui.core.sandbox.errors import SandboxCrashed, SandboxError, SandboxPolicyError, SandboxUnavailable
from aleph_gui.core.sandbox.hosts import HostRules
from aleph_gui.core.sandbox.launch import SandboxedProcess
from aleph_gui.core.sandbox.layout import INSIDE_DIR, INSIDE_NODE_PRELOAD, INSIDE_PROXY_SOCKET, NODE_PRELOAD
from aleph_gui.core.sandbox.persistent import PersistentSandbox, SandboxedCommand
from aleph_gui.core.sandbox.policy import SandboxPolicy, default_env, executable_prefixes, python_prefix
from aleph_gui.core.sandbox.proxy import FilteringProxy
from aleph_gui.core.sandbox.status import SandboxStatus, sandbox_status

__all__ = [
    "INSIDE_DIR", "INSIDE_NODE_PRELOAD", "INSIDE_PROXY_SOCKET", "NODE_PRELOAD",
    "Enforcement", "FilteringProxy", "HostRules", "PersistentSandbox", "SandboxCrashed", "SandboxError",
    "SandboxPolicy", "SandboxPolicyError", "SandboxStatus", "SandboxUnavailable", "SandboxedCommand",
    "SandboxedProcess", "bwrap_argv", "default_env", "executable_prefixes", "network_enforcement",
    "python_prefix", "sandbox_status",
]
