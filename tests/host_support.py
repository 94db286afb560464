"""Helpers for tests of the host: a real `aleph-ext serve` process, and `aleph-ext` run one way or the other.

`CliRunner` runs `aleph-ext` as a user does (a subprocess). In "host" mode the first command starts
`aleph-ext serve` for the same home, project and options and waits until it answers (a condition, not a
sleep); every later command must then be served by that host — the runner checks the host's count of served
requests went up, so a command that silently ran in-process fails the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from aleph_gui.host.client import HostUnavailable, call_sync
from aleph_gui.host.rpc import RemoteError

MODES = ("in-process", "host")


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "a condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


def host_status(home: Path) -> dict[str, Any] | None:
    try:
        return call_sync(home, "host.status", {}, timeout=10, client="test")  # type: ignore[no-any-return]
    except (HostUnavailable, RemoteError):
        return None


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "ALEPH_HOME": str(home), "QT_QPA_PLATFORM": "offscreen", "PYTHONUNBUFFERED": "1",
            **extra}


class HostProcess:
    """`aleph-ext serve` for a home, as a real process. One still running when its test ends is killed
    (conftest), so a failing test does not leave a host behind."""

    started: list[HostProcess] = []

    def __init__(self, home: Path, options: list[str], cwd: Path | None = None,
                 serve_options: tuple[str, ...] = ()) -> None:
        self.home = home
        cmd = [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), *options, "serve", *serve_options]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=cwd, env=cli_env(home))
        HostProcess.started.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_until_serving(self, timeout: float = 60.0) -> dict[str, Any]:
        def serving() -> dict[str, Any] | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"aleph-ext serve exited {self.proc.returncode}: {self.proc.stderr.read()}")
            status = host_status(self.home)
            return status if status is not None and status["pid"] == self.pid else None

        return wait_for(serving, timeout, "aleph-ext serve to answer")  # type: ignore[no-any-return]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> tuple[int, str]:
        """Signal it and wait: (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"aleph-ext serve did not stop within {timeout:.0f} s: {err}") from None
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


class CliRunner:
    """`aleph-ext --home H --project P --no-builtin ...` in one mode."""

    def __init__(self, mode: str, home: Path, project: Path, cwd: Path) -> None:
        assert mode in MODES
        self.mode = mode
        self.home = home
        self.cwd = cwd
        self.options = ["--project", str(project), "--no-builtin"]
        self.host: HostProcess | None = None

    def _base(self) -> list[str]:
        return [sys.executable, "-m", "aleph_gui.cli", "--home", str(self.home), *self.options]

    def _ensure_host(self) -> None:
        if self.mode == "host" and self.host is None:
            self.host = HostProcess(self.home, self.options, self.cwd)
            self.host.wait_until_serving()

    def served(self) -> int:
        status = host_status(self.home)
        assert status is not None, "the host stopped answering"
        return int(status["served"])

    def __call__(self, *args: str, check: bool = False, timeout: float = 60,
                 routed: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one command. In host mode, `routed=False` marks a command that never reaches the host
        (its arguments are refused before it is sent)."""
        self._ensure_host()
        before = self.served() if self.host is not None and routed else 0
        proc = subprocess.run([*self._base(), *args], capture_output=True, text=True, timeout=timeout,
                              env=cli_env(self.home), cwd=self.cwd)
        if self.host is not None and routed:
            assert self.served() > before, f"aleph-ext {' '.join(args)} did not go through the host: {proc.stderr}"
        if check and proc.returncode != 0:
            raise AssertionError(f"aleph-ext {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        self._ensure_host()
        return subprocess.Popen([*self._base(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=self.cwd, env=cli_env(self.home))

    def close(self) -> None:
        if self.host is not None:
            code, err = self.host.stop()
            self.host = None
            assert code == 0, f"aleph-ext serve exited {code}: {err}"


class Lines:
    """The lines a process writes to one stream, collected by a thread, with a wait for a line."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        with self._changed:
            found = self._changed.wait_for(lambda: next((ln for ln in self.lines if text in ln), None), timeout)
        assert found, f"no line with {text!r} within {timeout:.0f} s; got: {''.join(self.lines)}"
        return found
