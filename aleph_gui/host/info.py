"""Where a home's host can be reached, and `host.json`, which says who hosts it.

`$ALEPH_HOME/host.json` (mode 0600, written atomically, removed on a clean stop):
`{"pid", "kind": "window"|"headless", "socket", "http": "http://127.0.0.1:PORT"|null, "token", "started"}`.
A file left behind by a killed host names a dead pid; readers check the pid, never trust the file alone.

Stdlib only (json, os, socket): clients import this before deciding whether to load the core — `aleph-ext claude
hook` among them, before every tool call Claude makes, so not even dataclasses or tempfile load on that path.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

SOCKET_NAME = "host.sock"
INFO_NAME = "host.json"
KINDS = ("window", "headless")
# sun_path holds 108 bytes with its NUL; longer paths are reached through /proc/self/fd (Linux).
_MAX_SUN_PATH = 107
_CLOCK_SLACK_S = 2.0  # /proc's boot time is rounded to the second; clocks drift a little


class HostInfo:
    """What host.json says (a plain class: `dataclasses` costs the hook bridge milliseconds to import)."""

    __slots__ = ("pid", "kind", "socket", "http", "token", "started")

    def __init__(self, *, pid: int, kind: str, socket: str, http: str | None, token: str, started: float) -> None:
        self.pid = pid
        self.kind = kind
        self.socket = socket
        self.http = http
        self.token = token
        self.started = started  # unix seconds

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HostInfo) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"HostInfo({self.to_json()!r})"

    @property
    def alive(self) -> bool:
        """Is the process it names running — and the same process (a pid reused after a crash is not)?"""
        if not pid_alive(self.pid):
            return False
        began = process_start_time(self.pid)
        return began is None or began <= self.started + _CLOCK_SLACK_S


def socket_path(home: Path) -> Path:
    return home / SOCKET_NAME


def info_path(home: Path) -> Path:
    return home / INFO_NAME


def read_host_info(home: Path) -> HostInfo | None:
    """host.json as written by a host, or None when it is missing or not a host's file."""
    try:
        doc = json.loads(info_path(home).read_text(encoding="utf-8"))
        return HostInfo(pid=int(doc["pid"]), kind=str(doc["kind"]), socket=str(doc["socket"]),
                        http=doc.get("http") if isinstance(doc.get("http"), str) else None,
                        token=str(doc.get("token") or ""), started=float(doc.get("started") or 0.0))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_host_info(home: Path, info: HostInfo) -> None:
    """Replace host.json in one step (readers never see half a file), readable by the user only."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".host.json.", dir=home)  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(info.to_json(), fh)
        os.replace(tmp, info_path(home))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_host_info(home: Path, pid: int) -> None:
    """Remove host.json if it still names `pid` (a successor may have written its own)."""
    info = read_host_info(home)
    if info is not None and info.pid == pid:
        info_path(home).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def process_start_time(pid: int) -> float | None:
    """When a process started (unix seconds), from /proc; None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22, counted after "pid (comm)"
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


class _Address:
    """A path usable with bind/connect: the path itself, or /proc/self/fd/N/NAME when it is too long."""

    def __init__(self, path: Path) -> None:
        self._dir_fd: int | None = None
        text = os.fsencode(path)
        if len(text) <= _MAX_SUN_PATH:
            self.address: str = str(path)
            return
        if not os.path.isdir("/proc/self/fd"):
            raise OSError(f"the socket path {path} is longer than {_MAX_SUN_PATH} bytes; use a shorter ALEPH_HOME")
        self._dir_fd = os.open(path.parent, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC)
        self.address = f"/proc/self/fd/{self._dir_fd}/{path.name}"

    def __enter__(self) -> str:
        return self.address

    def __exit__(self, *exc: object) -> None:
        if self._dir_fd is not None:
            os.close(self._dir_fd)


def connect_unix(path: Path, timeout: float | None = None) -> socket.socket:
    """A connected blocking Unix socket; raises OSError (FileNotFoundError, ConnectionRefusedError...)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        with _Address(path) as address:
            sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_unix(path: Path) -> socket.socket:
    """A listening-ready Unix socket bound at `path`, mode 0600. The caller holds the home's lock, so any
    file already there is a dead host's socket and is replaced."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _Address(path) as address:
            sock.bind(address)
        os.chmod(path, 0o600)
    except BaseException:
        sock.close()
        raise
    return sock
