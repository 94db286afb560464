"""`Hosting`: becoming a home's host, serving, and stopping in order — for the window and `aleph-ext serve`.

    hosting = await Hosting.claim(home, "window", take_over=True)   # or raises HomeHosted
    hosting.announce()                  # host.json names this process: clients wait for it
    ...start the manager...
    server = await hosting.serve(manager)
    await hosting.stop_requested.wait() # a hand-over was asked (the owner may also stop for its own reasons)
    await hosting.stop_serving()        # no new work; calls in flight finish and answer; socket removed
    ...stop the manager...
    hosting.release()                   # host.json removed (or handed to the successor); lock released

Only the window takes over: claiming with `take_over=True` asks a running headless host to hand over and
waits for its lock. A window never hands over, and nothing takes over from a window.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

from aleph_gui.host.client import HostClient, HostUnavailable
from aleph_gui.host.info import (
    KINDS,
    HostInfo,
    pid_alive,
    read_host_info,
    remove_host_info,
    socket_path,
    write_host_info,
)
from aleph_gui.host.lock import HostLock
from aleph_gui.host.rpc import RemoteError
from aleph_gui.host.server import HostServer

if TYPE_CHECKING:
    from aleph_gui.core.manager import ExtensionManager

HANDOVER_TIMEOUT_S = 60.0  # in-flight calls may take a while; tool calls have their own time limits
LOCK_POLL_S = 0.02
TOKEN_SETTING = "host.token"


class HomeHosted(Exception):
    """Another host serves this home and does not hand over; `str()` names its kind and pid."""

    def __init__(self, message: str, info: HostInfo | None) -> None:
        super().__init__(message)
        self.info = info


def who_hosts(home: Path, info: HostInfo | None) -> str:
    if info is None or not info.alive:
        return f"{home} is already hosted by another process that holds {home / 'host.lock'}"
    return f"{home} is already hosted by the {info.kind} (pid {info.pid})"


def host_token(home: Path) -> str:
    """The HTTP gateway's bearer token, kept across restarts in state.db."""
    from aleph_gui.core.state import StateDB

    state = StateDB(home / "state.db")
    try:
        token = state.setting(TOKEN_SETTING)
        if not isinstance(token, str) or len(token) < 32:
            token = secrets.token_urlsafe(32)
            state.set_setting(TOKEN_SETTING, token)
        return token
    finally:
        state.close()


class Hosting:
    def __init__(self, home: Path, kind: str, lock: HostLock, token: str) -> None:
        self.home = home
        self.kind = kind
        self.lock = lock
        self.token = token
        self.server: HostServer | None = None
        self.stop_requested = asyncio.Event()
        self.successor_pid: int | None = None
        self.successor_kind = "window"

    # -- claiming ----------------------------------------------------------------------------------
    @classmethod
    async def claim(cls, home: Path, kind: str, *, take_over: bool = False,
                    timeout: float = HANDOVER_TIMEOUT_S) -> Hosting:
        """Take the home's lock. When another host holds it: raise HomeHosted, unless `take_over` and that host
        is headless — then ask it to hand over and wait until it has released the lock."""
        home.mkdir(parents=True, exist_ok=True)
        lock = HostLock(home)
        deadline = time.monotonic() + timeout
        asked = False
        while not lock.acquire():
            info = read_host_info(home)
            # Once asked, host.json may name this process: the old host names its successor before it lets go.
            handing_to_us = asked and info is not None and info.pid == os.getpid()
            if not take_over or (info is not None and not handing_to_us and info.kind != "headless"
                                 and info.alive):
                raise HomeHosted(who_hosts(home, info), info)
            if time.monotonic() >= deadline:
                what = f"the headless host (pid {info.pid})" if info is not None else "the host"
                raise HomeHosted(f"{what} of {home} did not hand over within {timeout:.0f} s", info)
            if not asked:
                asked = await _ask_handover(home, kind)
            await asyncio.sleep(LOCK_POLL_S)
        try:
            token = host_token(home)  # one small SQLite read: on the loop, like everything of the host
        except BaseException:
            lock.release()
            raise
        return cls(home, kind, lock, token)

    # -- serving -----------------------------------------------------------------------------------
    def _write_info(self, pid: int, kind: str, started: float, http: str | None = None) -> None:
        write_host_info(self.home, HostInfo(pid=pid, kind=kind, socket=str(socket_path(self.home)), http=http,
                                            token=self.token, started=started))

    def announce(self) -> None:
        """host.json names this process before it serves, so clients wait for it instead of running alone."""
        self._write_info(os.getpid(), self.kind, time.time())

    async def serve(self, manager: ExtensionManager) -> HostServer:
        """Open the endpoint for `manager` (started) and say so in host.json."""
        os.chmod(self.home, 0o700)  # the socket's folder: only this user may reach the socket
        on_handover = self._handover if self.kind == "headless" else None
        self.server = HostServer(manager, self.home, self.kind, on_handover=on_handover)
        await self.server.start()
        self.publish()
        return self.server

    def publish(self) -> None:
        """(Re)write host.json from the server: after it starts, and when a gateway sets its HTTP address."""
        assert self.server is not None
        self._write_info(os.getpid(), self.kind, self.server.started, self.server.http)

    def _handover(self, successor_pid: int, successor_kind: str) -> None:
        self.successor_pid = successor_pid if successor_pid > 0 else None
        self.successor_kind = successor_kind if successor_kind in KINDS else "window"
        self.stop_requested.set()

    async def stop_serving(self) -> None:
        """No new work; every call in flight finishes and is answered; connections closed; socket removed."""
        if self.server is not None:
            reason = f"the host is handing over to the {self.successor_kind}; ask again" if self.successor_pid \
                else "the host is stopping"
            await self.server.stop(reason)

    def release(self) -> None:
        """host.json left to the next host, then the lock released. Call after the manager has stopped."""
        self.leave_host_info()
        self.lock.release()

    def leave_host_info(self) -> None:
        """host.json removed — or, after a hand-over, naming the successor, so clients wait for it."""
        if self.successor_pid is not None and pid_alive(self.successor_pid):
            self._write_info(self.successor_pid, self.successor_kind, time.time())
        else:
            remove_host_info(self.home, os.getpid())


async def _ask_handover(home: Path, kind: str) -> bool:
    """Ask the running host to hand over to this process; False when it does not answer (yet)."""
    client = HostClient(home, kind, wait=0.0)
    try:
        await client.connect()
        await client.call("host.handover", {})
    except HostUnavailable:
        return False
    except RemoteError as exc:  # it will not hand over (a window)
        info = read_host_info(home)
        raise HomeHosted(f"{who_hosts(home, info)}: {exc}", info) from None
    finally:
        await client.close()
    return True
