"""The bubblewrap command line for one plugin process: argv lists only, never shell text.

Inside: the read-only system, a private `/tmp`, an empty private home (a tmpfs at the home path,
so only explicit grants of it are visible), the plugin folder read-only, each granted folder at
its resolved path (read-only or read-write), its own PID, IPC, UTS, user and network namespaces
(the network is shared only for network 'any'), `--die-with-parent`, `--new-session`, exactly the
environment of the policy, and the plugin folder as working directory.

For network 'hosts' the sandbox has no network at all except the filtering proxy's Unix socket,
bound in; a small bridge (`netbridge.py`) listens on 127.0.0.1:3128 inside and forwards to it, so
programs that honour `HTTP_PROXY` reach the granted hosts, and Node's `fetch`/`http` are pointed at
the socket by `node_proxy_preload.js` (loaded through `NODE_OPTIONS`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from aleph_gui.core.sandbox.errors import SandboxPolicyError, SandboxUnavailable
from aleph_gui.core.sandbox.interpreter import helper_python
from aleph_gui.core.sandbox.layout import (
    BRIDGE_PORT,
    BRIDGE_SCRIPT,
    INSIDE_BRIDGE,
    INSIDE_NODE_PRELOAD,
    INSIDE_PROXY_SOCKET,
    NODE_PRELOAD,
    is_under_system,
    system_mount_args,
)
from aleph_gui.core.sandbox.policy import SandboxPolicy
from aleph_gui.core.sandbox.status import SandboxStatus, sandbox_status

PROXY_URL = f"http://127.0.0.1:{BRIDGE_PORT}"
PROXY_ENV_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def proxy_env(base: Mapping[str, str], *, bridge: bool) -> dict[str, str]:
    """`base` plus what points the plugin's HTTP clients at the filtering proxy."""
    env = dict(base)
    env["ALEPH_PROXY_SOCKET"] = INSIDE_PROXY_SOCKET
    preload = f"--require={INSIDE_NODE_PRELOAD}"
    env["NODE_OPTIONS"] = f"{env['NODE_OPTIONS']} {preload}" if env.get("NODE_OPTIONS") else preload
    if bridge:
        env.update(dict.fromkeys(PROXY_ENV_NAMES, PROXY_URL))
    return env


def _binds(policy: SandboxPolicy, extra_ro: Sequence[str]) -> list[str]:
    """Plugin folder, grants and runtime paths, parents before children so the deeper grant wins."""
    modes: dict[str, str] = {}
    for path in (*policy.runtime_paths, *extra_ro, *policy.read_only):
        if not is_under_system(path) or path in policy.read_only:
            modes[path] = "ro"
    for path in policy.read_write:
        modes[path] = "rw"
    modes[policy.plugin_dir] = "plugin"  # always read-only, even inside a read-write grant
    args: list[str] = []
    for path in sorted(modes, key=lambda p: (p.rstrip("/").count("/"), p)):
        flag = {"ro": "--ro-bind-try", "rw": "--bind-try", "plugin": "--ro-bind"}[modes[path]]
        args += [flag, path, path]
    return args


def _private_home(home: str) -> list[str]:
    if home in ("/", "/tmp") or is_under_system(home):
        return []
    return ["--tmpfs", home]


def build_argv(
    policy: SandboxPolicy,
    argv: Sequence[str],
    *,
    proxy_socket: str | None,
    status: SandboxStatus,
    internal_files: Mapping[str, str] | None = None,
    extra_ro: Sequence[str] = (),
) -> list[str]:
    """The full bwrap argv. `internal_files` maps a path inside to a host file bound read-only."""
    if not status.available or status.bwrap is None:
        raise SandboxUnavailable(policy.plugin_id, status.sentence)
    if not argv:
        raise SandboxPolicyError(policy.plugin_id, "there is no command to run in the sandbox.")
    hosts = policy.network == "hosts"
    if hosts and not proxy_socket:
        raise SandboxPolicyError(policy.plugin_id, "network 'hosts' needs the filtering proxy's socket "
                                                   "(start a FilteringProxy and pass its socket_path).")
    out = [status.bwrap, "--unshare-all"]
    if policy.network == "any":
        out.append("--share-net")
    if status.userns:
        out.append("--unshare-user")
        if os.geteuid() == 0:  # bwrap run by root keeps every capability unless told otherwise
            out += ["--cap-drop", "ALL"]
        if status.disable_userns:
            out.append("--disable-userns")
    out += ["--die-with-parent", "--new-session"]
    out += system_mount_args(share_net=policy.network == "any")
    out += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", *_private_home(policy.home)]

    files = dict(internal_files or {})
    extra = list(extra_ro)
    command = list(argv)
    env = policy.environment
    if hosts:
        assert proxy_socket is not None
        files[INSIDE_PROXY_SOCKET] = proxy_socket
        files[INSIDE_NODE_PRELOAD] = str(NODE_PRELOAD)
        helper = helper_python()
        if helper is not None:
            files[INSIDE_BRIDGE] = str(BRIDGE_SCRIPT)
            extra += helper.bind
            command = [helper.executable, "-I", "-S", INSIDE_BRIDGE, str(BRIDGE_PORT), INSIDE_PROXY_SOCKET,
                       "--", *command]
        env = proxy_env(env, bridge=helper is not None)
    out += _binds(policy, extra)
    for inside, host in files.items():  # last, so no grant can cover them
        out += ["--ro-bind", host, inside]
    out.append("--clearenv")
    for key, value in env.items():
        out += ["--setenv", key, value]
    out += ["--chdir", policy.plugin_dir, "--", *command]
    return out


def bwrap_argv(
    policy: SandboxPolicy,
    argv: Sequence[str],
    *,
    proxy_socket: str | None = None,
    status: SandboxStatus | None = None,
) -> list[str]:
    """The argv that runs `argv` in the plugin's sandbox. Raises SandboxUnavailable when this system
    has no sandbox (the caller decides whether to run it unsandboxed and labels it so), and
    SandboxPolicyError when network is 'hosts' and no `proxy_socket` is given.

    Spawn it with no `env` of its own: bwrap clears the environment and sets exactly the policy's.
    """
    return build_argv(policy, argv, proxy_socket=proxy_socket, status=status or sandbox_status())
