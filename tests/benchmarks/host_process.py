"""`aleph-ext serve` as a process, for the benchmarks that call a host: start it, wait until it answers, stop it."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from aleph_gui.host.client import HostUnavailable, call_sync
from aleph_gui.host.rpc import RemoteError


def start_host(command: list[str], home: Path, cwd: Path) -> subprocess.Popen[str]:
    """Run `command` (an `aleph-ext … serve` line for `home`) and return once it answers as the home's host."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    deadline = time.monotonic() + 60
    while True:
        try:
            if call_sync(home, "host.status", {}, 5, client="bench")["pid"] == proc.pid:
                return proc
        except (HostUnavailable, RemoteError):  # not up yet
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"aleph-ext serve did not start: {proc.stderr.read() if proc.stderr else ''}") \
                    from None
        time.sleep(0.05)


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
