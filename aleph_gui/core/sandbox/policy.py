"""What one plugin's sandbox lets it see and do: folders, network, environment.

Every path is canonicalised (`~`, `..`, duplicate slashes and symlinks resolved with realpath)
before it is compared or handed to bwrap, because a grant is what the path *resolves* to, not how
it is spelled: `granted/..`, `//` and `~/Documents/..` are caught here as the folders they are.
Grants that would hand over the whole system, the whole home folder, the kernel's interfaces or
the user's session sockets are refused with one sentence (the scope layer refuses them too).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from aleph_gui.core.sandbox.errors import SandboxPolicyError
from aleph_gui.core.sandbox.hosts import HostRules
from aleph_gui.core.sandbox.layout import INSIDE_DIR, is_under_system

Network = Literal["none", "hosts", "any"]
NETWORK_MODES: tuple[Network, ...] = ("none", "hosts", "any")
_KERNEL_DIRS = ("/proc", "/sys", "/dev")
# Host variables a program needs to behave normally; nothing else of the user's is passed.
_DEFAULT_ENV_KEYS = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"


def home_folder() -> str:
    return os.path.realpath(os.path.expanduser("~"))


def canonical(path: str | os.PathLike[str]) -> str:
    """Absolute, with `~`, `..`, duplicate slashes and symlinks resolved. Relative paths are refused."""
    text = os.path.expanduser(os.fspath(path))
    if not os.path.isabs(text):
        raise ValueError(f"'{os.fspath(path)}' is a relative path; the sandbox needs absolute paths")
    return os.path.realpath(text)


def _inside(path: str, folder: str) -> bool:
    return folder == "/" or path == folder or path.startswith(folder + "/")


def _session_runtime_dir() -> str | None:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return os.path.realpath(runtime) if runtime and os.path.isabs(runtime) else None


def refusal(path: str, home: str) -> str | None:
    """Why a canonical path may not be granted, or None when it may."""
    if path == "/":
        return "resolves to / (the whole system)"
    if _inside(home, path):
        return "is the whole home folder" if path == home else f"contains the whole home folder ({home})"
    for kernel in _KERNEL_DIRS:
        if _inside(path, kernel):
            return f"is inside {kernel}, which the sandbox provides itself"
    if _inside(INSIDE_DIR, path):
        return "contains /run, where system services keep their sockets"
    runtime = _session_runtime_dir()
    if runtime and (_inside(path, runtime) or _inside(runtime, path)):
        return f"holds the desktop session's sockets ({runtime}), which would let the plugin out"
    return None


def _checked(plugin_id: str, what: str, paths: Iterable[str | os.PathLike[str]], home: str) -> tuple[str, ...]:
    out: list[str] = []
    for raw in paths:
        try:
            path = canonical(raw)
        except ValueError as err:
            raise SandboxPolicyError(plugin_id, f"{what} {err}") from None
        why = refusal(path, home)
        if why:
            shown = os.fspath(raw) if os.fspath(raw) == path else f"{os.fspath(raw)} ({path})"
            raise SandboxPolicyError(plugin_id, f"{what} {shown} cannot be granted: it {why}.")
        out.append(path)
    return tuple(dict.fromkeys(out))


def default_env(home: str | None = None) -> dict[str, str]:
    """A minimal environment: PATH, HOME (the sandbox's empty one), TMPDIR and the locale."""
    env = {"PATH": DEFAULT_PATH, "HOME": home or home_folder(), "TMPDIR": "/tmp"}
    env.update({k: os.environ[k] for k in _DEFAULT_ENV_KEYS if k in os.environ})
    return env


def executable_prefixes(binary: str | os.PathLike[str]) -> list[str]:
    """The install folders to show read-only so `binary` can run (e.g. ~/.nvm/versions/node/v20): the one
    it is named in (a virtual environment, whose bin/python links elsewhere) and the one it resolves to.
    Empty when both are system folders, which every sandbox shows anyway."""
    out = []
    for path in (os.path.abspath(os.fspath(binary)), os.path.realpath(os.fspath(binary))):
        folder = os.path.dirname(path)
        if is_under_system(os.path.realpath(folder)):  # /bin/sh: shown anyway, and its parent is /
            continue
        prefix = os.path.dirname(folder) if os.path.basename(folder) == "bin" else folder
        if prefix not in out:
            out.append(prefix)
    return out


def python_prefix() -> str | None:
    """The running interpreter's install folder when it is outside the system folders (pyenv, conda)."""
    if getattr(sys, "frozen", False):
        return None
    prefix = os.path.realpath(sys.base_prefix)
    return None if is_under_system(prefix) else prefix


@dataclass(frozen=True)
class SandboxPolicy:
    """One plugin's sandbox. Build it with `SandboxPolicy.build`, which canonicalises and checks."""

    plugin_id: str
    plugin_dir: str
    read_only: tuple[str, ...] = ()
    read_write: tuple[str, ...] = ()
    network: Network = "none"
    hosts: HostRules = field(default_factory=lambda: HostRules(()))
    runtime_paths: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    home: str = "/"

    @classmethod
    def build(
        cls,
        plugin_id: str,
        plugin_dir: str | os.PathLike[str],
        *,
        read_only: Iterable[str | os.PathLike[str]] = (),
        read_write: Iterable[str | os.PathLike[str]] = (),
        network: Network = "none",
        hosts: Iterable[str] = (),
        runtime_paths: Iterable[str | os.PathLike[str]] = (),
        env: Mapping[str, str] | None = None,
    ) -> SandboxPolicy:
        """Raises SandboxPolicyError (one sentence) for a grant that cannot be given.

        `runtime_paths` are extra read-only paths the runtime itself needs (the node binary's
        install prefix, the app's host script); `env` is exactly the environment the plugin gets
        (default: `default_env()`).
        """
        home = home_folder()
        (folder,) = _checked(plugin_id, "the plugin folder", [plugin_dir], home)
        if not os.path.isdir(folder):
            raise SandboxPolicyError(plugin_id, f"the plugin folder {folder} does not exist.")
        if network not in NETWORK_MODES:
            raise SandboxPolicyError(plugin_id, f"network must be one of {', '.join(NETWORK_MODES)}, "
                                                f"not '{network}'.")
        try:
            rules = HostRules.of(hosts)
        except ValueError as err:
            raise SandboxPolicyError(plugin_id, f"{err}.") from None
        if network != "hosts" and rules.patterns:
            raise SandboxPolicyError(plugin_id, f"hosts are granted only with network 'hosts', not '{network}'.")
        chosen = default_env(home) if env is None else dict(env)
        bad = [k for k in chosen if not k or "=" in k or "\0" in k or "\0" in chosen[k]]
        if bad:
            raise SandboxPolicyError(plugin_id, f"environment variable name {bad[0]!r} is not valid.")
        return cls(
            plugin_id=plugin_id,
            plugin_dir=folder,
            read_only=_checked(plugin_id, "read-only folder", read_only, home),
            read_write=_checked(plugin_id, "read-write folder", read_write, home),
            network=network,
            hosts=rules,
            runtime_paths=_checked(plugin_id, "runtime path", runtime_paths, home),
            env=tuple(sorted(chosen.items())),
            home=home,
        )

    @property
    def environment(self) -> dict[str, str]:
        return dict(self.env)
