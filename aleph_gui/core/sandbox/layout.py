"""The sandbox's view of the file system: the read-only system, and where the app's helpers appear.

Only what a normal program needs to start is visible: `/usr` (and the merged-usr links `/bin`,
`/lib*`, `/sbin`), `/etc`, `/opt` and `/nix/store` when present. Never `/home`, `/root`, `/run`,
`/var`, `/tmp` or `/mnt` of the host: those hold the user's files and other programs' sockets.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/etc", "/opt", "/nix/store")
MERGED_USR_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# Where the app's own files appear inside every sandbox (a directory of bwrap's private root).
INSIDE_DIR = "/run/aleph-sandbox"
INSIDE_PROXY_SOCKET = f"{INSIDE_DIR}/proxy.sock"
INSIDE_BRIDGE = f"{INSIDE_DIR}/netbridge.py"
INSIDE_SUPERVISOR = f"{INSIDE_DIR}/supervisor.py"
INSIDE_NODE_PRELOAD = f"{INSIDE_DIR}/node_proxy_preload.js"
BRIDGE_PORT = 3128  # inside the sandbox's own network namespace, so it never clashes

HERE = Path(__file__).resolve().parent
BRIDGE_SCRIPT = HERE / "netbridge.py"
SUPERVISOR_SCRIPT = HERE / "supervisor.py"
NODE_PRELOAD = HERE / "node_proxy_preload.js"


def system_mount_args(*, share_net: bool) -> list[str]:
    """bwrap arguments that show the host's system read-only, as it is laid out on this host."""
    args: list[str] = []
    for link in MERGED_USR_LINKS:
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    for folder in SYSTEM_DIRS:
        if os.path.isdir(folder):
            args += ["--ro-bind", folder, folder]
    if share_net:
        # systemd links /etc/resolv.conf into /run, which is not visible: show that one file.
        resolv = os.path.realpath("/etc/resolv.conf")
        if os.path.isfile(resolv) and not is_under_system(resolv):
            args += ["--ro-bind", resolv, resolv]
    return args


def is_under_system(path: str) -> bool:
    """True when `path` is already visible (read-only) through the system folders."""
    return any(path == d or path.startswith(d + "/") for d in SYSTEM_DIRS if os.path.isdir(d)) or any(
        (path == link or path.startswith(link + "/")) for link in MERGED_USR_LINKS if os.path.exists(link))
