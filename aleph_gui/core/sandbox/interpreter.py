"""The Python interpreter that runs the app's two helpers inside a sandbox (supervisor, net bridge).

Both helpers are stdlib-only scripts run with `-I -S` (no site, no user paths, no environment). From
source or a wheel that interpreter is the app's own (`sys.executable`, resolved); its install folder
is shown read-only when it lives outside the system folders (pyenv, conda). A PyInstaller build has
no Python of its own to run a script, so it uses the system's `python3` when that is 3.9 or newer
(for `socket.send_fds`); with none, the persistent sandbox and the net bridge are unavailable.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from aleph_gui.core.sandbox.layout import is_under_system
from aleph_gui.core.sandbox.policy import home_folder, python_prefix, refusal

MIN_VERSION = (3, 9)


@dataclass(frozen=True)
class HelperPython:
    executable: str
    bind: tuple[str, ...]  # read-only folders it needs beyond the system folders


@functools.cache
def _system_python(candidate: str | None) -> HelperPython | None:
    if candidate is None:
        return None
    real = os.path.realpath(candidate)
    probe = "import sys; print(sys.version_info[0], sys.version_info[1], sys.base_prefix)"
    try:
        out = subprocess.run([real, "-I", "-S", "-c", probe], capture_output=True, text=True,
                             timeout=15, check=False).stdout.split(maxsplit=2)
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 3 or (int(out[0]), int(out[1])) < MIN_VERSION:
        return None
    prefix = os.path.realpath(out[2].strip())
    return HelperPython(real, () if is_under_system(prefix) else (prefix,))


def helper_python() -> HelperPython | None:
    """The interpreter for the in-sandbox helpers, or None when this build has none to use."""
    if not getattr(sys, "frozen", False):
        executable = os.path.realpath(sys.executable)
        binds = [p for p in (python_prefix(),) if p]
        # A venv made with --copies has its own binary (and pyvenv.cfg) outside the prefix.
        if not is_under_system(executable) and not any(executable.startswith(b + "/") for b in binds):
            venv = os.path.dirname(os.path.dirname(executable))
            binds.append(venv if refusal(venv, home_folder()) is None else os.path.dirname(executable))
        return HelperPython(executable, tuple(binds))
    return _system_python(shutil.which("python3", path="/usr/bin:/bin:/usr/local/bin"))
