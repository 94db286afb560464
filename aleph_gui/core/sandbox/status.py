"""Can this machine sandbox plugin processes? Probed once per process by really running bubblewrap.

`sandbox_status()` answers available (with the bwrap version and the flags it supports) or
unavailable with one sentence saying why. `ALEPH_SANDBOX=off` forces "unavailable", so users and
tests can see the "not sandboxed on this system" path on a machine that has bubblewrap.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from aleph_gui.core.sandbox.layout import system_mount_args

OFF_VALUES = frozenset({"off", "0", "no", "false", "disabled"})
_PROBE_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SandboxStatus:
    """What the OS sandbox can do here. `reason` is empty when available."""

    available: bool
    reason: str = ""
    bwrap: str | None = None
    version: str | None = None
    userns: bool = True  # bwrap makes its own user namespace (not a setuid bwrap without one)
    disable_userns: bool = False  # `--disable-userns` works: no nested namespaces inside

    @property
    def sentence(self) -> str:
        """The label for a permission that relies on the sandbox."""
        if self.available:
            return f"sandboxed with bubblewrap {self.version}" if self.version else "sandboxed with bubblewrap"
        return f"not sandboxed on this system: {self.reason}"


def sandbox_status() -> SandboxStatus:
    """The sandbox's status for this process (the probe itself runs once per bwrap binary)."""
    setting = os.environ.get("ALEPH_SANDBOX", "").strip().lower()
    if setting in OFF_VALUES:
        return SandboxStatus(False, f"the sandbox is turned off (ALEPH_SANDBOX={setting})")
    if not sys.platform.startswith("linux"):
        return SandboxStatus(False, "the plugin sandbox (bubblewrap) exists only on Linux")
    return _probe(_which_bwrap(os.environ.get("PATH", os.defpath)))


@functools.cache
def _which_bwrap(search_path: str) -> str | None:
    # asked for every permission row of every plugin listed: a PATH walk each time would dominate `list`
    return shutil.which("bwrap", path=search_path)


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return 1, str(err)
    return done.returncode, (done.stderr or done.stdout).strip()


def _sysctl(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _why_not(stderr: str) -> str:
    """One sentence for a bwrap that cannot start a sandbox, precise when a sysctl explains it."""
    first = stderr.splitlines()[0] if stderr else "no error message"
    if _sysctl("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return ("user namespaces are disabled on this system (kernel.unprivileged_userns_clone=0); "
                "enable them with: sudo sysctl kernel.unprivileged_userns_clone=1")
    if _sysctl("/proc/sys/user/max_user_namespaces") == "0":
        return ("user namespaces are disabled on this system (user.max_user_namespaces=0); "
                "enable them with: sudo sysctl user.max_user_namespaces=15000")
    if _sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return ("user namespaces are restricted by AppArmor on this system "
                "(kernel.apparmor_restrict_unprivileged_userns=1), so bubblewrap cannot start "
                f"(bwrap: {first})")
    lowered = first.lower()
    if "namespace" in lowered or "uid map" in lowered or "operation not permitted" in lowered:
        return f"user namespaces are disabled on this system (bwrap: {first})"
    return f"bubblewrap cannot create a sandbox here (bwrap: {first})"


def _trial(bwrap: str, *, userns: bool, disable_userns: bool) -> list[str]:
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    argv = [bwrap, "--unshare-all"]
    if userns:
        argv += ["--unshare-user"]
        if os.geteuid() == 0:
            argv += ["--cap-drop", "ALL"]
        if disable_userns:
            argv += ["--disable-userns"]
    argv += [*system_mount_args(share_net=False), "--proc", "/proc", "--dev", "/dev",
             "--die-with-parent", "--new-session", "--clearenv", "--", true]
    return argv


@functools.cache
def _probe(bwrap: str | None) -> SandboxStatus:
    if bwrap is None:
        return SandboxStatus(False, "bubblewrap is not installed (apt install bubblewrap)")
    code, out = _run([bwrap, "--version"])
    if code != 0:
        return SandboxStatus(False, f"bubblewrap does not run here ({bwrap} --version: {out or code})",
                             bwrap=bwrap)
    version = out.split()[-1] if out else None
    # Strongest first: own user namespace with nested namespaces disabled, then without that
    # flag (bwrap < 0.8 or a kernel without it), then a setuid bwrap that makes no user namespace.
    first_error = ""
    for userns, disable in ((True, True), (True, False), (False, False)):
        code, err = _run(_trial(bwrap, userns=userns, disable_userns=disable))
        if code == 0:
            return SandboxStatus(True, bwrap=bwrap, version=version, userns=userns, disable_userns=disable)
        first_error = first_error or err
    return SandboxStatus(False, _why_not(first_error), bwrap=bwrap, version=version)
