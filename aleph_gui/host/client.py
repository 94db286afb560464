"""Clients of the host endpoint: a tiny blocking one and an async one that reconnects.

Blocking (`SyncClient`, `call_sync`, `find_host`): json, socket, os and time only — the Claude hook bridge and
the routed `aleph-ext` commands start on this path before every call, so it imports neither asyncio nor the
core. `HostClient` (async) imports asyncio when first used; it follows the home's host across a hand-over.

Finding the host: a host answers on `$ALEPH_HOME/host.sock`. When the socket does not answer but host.json
names a live process, a host is starting or handing over: clients wait for it (up to `HOST_WAIT_S`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aleph_gui.host import rpc
from aleph_gui.host.info import HostInfo, connect_unix, read_host_info, socket_path

if TYPE_CHECKING:
    import asyncio

HOST_WAIT_S = 30.0  # how long a client waits for a host that is starting or handing over
RETRY_S = 0.05
HELLO_TIMEOUT_S = 10.0


class HostUnavailable(Exception):
    """No host answers on this home (a one-sentence `str()`)."""


class HostGone(HostUnavailable):
    """The connection to the host ended before it answered (the request may have run)."""


class HostHandedOver(HostGone):
    """The host closed the connection cleanly before reading the request: it never ran; ask the next host."""


def _host_coming(home: Path) -> HostInfo | None:
    """host.json naming a live process: a host is starting or handing over."""
    info = read_host_info(home)
    if info is None or not info.alive:
        return None
    return info


def _not_answering(home: Path, info: HostInfo, waited: float) -> HostUnavailable:
    return HostUnavailable(f"the {info.kind} host of {home} (pid {info.pid}) did not answer within {waited:.0f} s")


# -- blocking ----------------------------------------------------------------------------------------


class SyncClient:
    """One blocking connection; requests one at a time."""

    def __init__(self, sock: socket.socket, home: Path) -> None:
        self._sock = sock
        self.home = home
        self._buffer = bytearray()
        self._next_id = 0
        self._bye = False
        self._timeout: float | None = sock.gettimeout()
        self.host: dict[str, Any] = {}  # what client.hello answered: pid, kind, home, view

    @classmethod
    def connect(cls, home: Path, name: str, timeout: float = HELLO_TIMEOUT_S) -> SyncClient:
        """Connect and say hello; raises OSError when nothing listens, HostGone when it hangs up."""
        client = cls(connect_unix(socket_path(home), timeout), home)
        try:
            client.host = client.call("client.hello", {"name": name, "pid": os.getpid()}, timeout=timeout)
        except BaseException:
            client.close()
            raise
        return client

    def send(self, method: str, params: dict[str, Any] | None = None) -> int:
        self._next_id += 1
        self._sock.sendall(rpc.request(self._next_id, method, params))
        return self._next_id

    def receive(self, request_id: int, timeout: float | None = None) -> Any:
        """The answer to `request_id` (other messages are skipped); raises RemoteError, HostGone."""
        if timeout != self._timeout:  # each settimeout costs system calls; calls in a row share one
            self._sock.settimeout(timeout)
            self._timeout = timeout
        while True:
            end = self._buffer.find(b"\n")
            while end < 0:
                try:
                    chunk = self._sock.recv(1 << 16)
                except TimeoutError:
                    raise HostGone(f"the host of {self.home} did not answer within {timeout:.0f} s") from None
                except OSError as exc:
                    raise HostGone(f"the connection to the host of {self.home} broke ({exc.strerror})") from None
                if not chunk:
                    if self._bye:
                        raise HostHandedOver(f"the host of {self.home} stopped; ask the next host")
                    raise HostGone(f"the host of {self.home} stopped before answering")
                seen = len(self._buffer)  # only the new chunk can hold the end of the line: a big answer
                self._buffer += chunk     # costs one pass, not one per chunk
                if len(self._buffer) > rpc.MAX_LINE:
                    raise HostGone(f"the host of {self.home} sent a message longer than {rpc.MAX_LINE} bytes")
                end = self._buffer.find(b"\n", seen)
            line = bytes(self._buffer[:end])
            del self._buffer[:end + 1]
            try:
                message = json.loads(line)
            except ValueError:
                raise HostGone(f"the host of {self.home} sent a line that is not JSON") from None
            if not isinstance(message, dict) or message.get("id") != request_id:
                if isinstance(message, dict) and message.get("method") == rpc.BYE:
                    self._bye = True
                continue  # a notification, or the answer to an abandoned request
            if "error" in message:
                raise rpc.RemoteError.of(message["error"])
            return message.get("result")

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        try:
            request_id = self.send(method, params)
        except OSError as exc:
            raise HostGone(f"the connection to the host of {self.home} broke ({exc.strerror})") from None
        return self.receive(request_id, timeout)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def find_host(home: Path, name: str, wait: float = HOST_WAIT_S) -> SyncClient | None:
    """A connected client of the home's host, or None when no host runs. A host that is starting or
    handing over is waited for; one that never answers raises HostUnavailable."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return SyncClient.connect(home, name)
        except (FileNotFoundError, ConnectionRefusedError, HostGone, TimeoutError):
            pass
        except OSError as exc:  # e.g. a socket this user may not open: say so, never a traceback
            raise HostUnavailable(f"cannot reach the host of {home}: {exc.strerror or exc}") from None
        info = _host_coming(home)
        if info is None:
            return None
        if time.monotonic() >= deadline:
            raise _not_answering(home, info, wait)
        time.sleep(RETRY_S)


def call_sync(home: Path, method: str, params: dict[str, Any] | None = None, timeout: float | None = 10.0,
              *, client: str = "cli") -> Any:
    """One request to the running host (hello and request sent together). Raises HostUnavailable when no host
    answers, rpc.RemoteError when the host answers with an error."""
    try:
        sock = connect_unix(socket_path(home), timeout)
    except (FileNotFoundError, ConnectionRefusedError, TimeoutError):
        raise HostUnavailable(f"no host runs for {home}") from None
    with SyncClient(sock, home) as conn:
        try:
            hello = conn.send("client.hello", {"name": client, "pid": os.getpid()})
            request_id = conn.send(method, params)
        except OSError as exc:
            raise HostGone(f"the connection to the host of {home} broke ({exc.strerror})") from None
        conn.receive(hello, timeout)
        return conn.receive(request_id, timeout)


# -- async -------------------------------------------------------------------------------------------


class HostClient:
    """An asyncio client of the home's host. With `reconnect=True` it follows the host across a hand-over
    (or a restart within `HOST_WAIT_S`): it connects again, says hello again, subscribes again, and asks the
    next host again any request the old one did not run (refused while handing over, or never read before
    its `host.bye`). A request the old host took and never answered (it died) fails with HostGone: it may
    have run, so it is never sent twice."""

    def __init__(self, home: Path, name: str, *, reconnect: bool = False, wait: float = HOST_WAIT_S) -> None:
        self.home = home
        self.name = name
        self.reconnect = reconnect
        self.wait = wait
        self.host: dict[str, Any] = {}
        self.connections = 0  # how many times it connected (1 + reconnections)
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._on_event: Callable[[dict[str, Any]], None] | None = None
        self._event_types: list[str] | None = None
        self._on_reconnect: Callable[[dict[str, Any]], None] | None = None
        self._connected: asyncio.Event | None = None
        self._gone: asyncio.Event | None = None
        self._next_connection: asyncio.Future[None] | None = None  # resolved by the next connection (or giving up)
        self._reopening: asyncio.Task[None] | None = None
        self._closed = False
        self._opening = False
        self._bye = False
        self.lost: HostUnavailable | None = None  # set when the host went away for good

    async def connect(self) -> dict[str, Any]:
        """Connect to the running host (waiting for one that is starting); raises HostUnavailable."""
        import asyncio

        self._connected = asyncio.Event()
        self._gone = asyncio.Event()
        self._next_connection = asyncio.get_running_loop().create_future()
        await self._open()
        return self.host

    async def _open(self) -> None:
        import asyncio

        deadline = time.monotonic() + self.wait
        self._opening = True
        try:
            while True:
                try:
                    reader, self._writer = await self._dial()
                    self._reader_task = asyncio.get_running_loop().create_task(self._read(reader))
                    self.host = await self._request("client.hello", {"name": self.name, "pid": os.getpid()})
                    if self._on_event is not None:
                        await self._request("host.subscribe", self._subscription())
                    break
                except (OSError, HostGone):  # nothing listens, or a host that is stopping hung up
                    info = _host_coming(self.home)
                    if info is None:
                        raise HostUnavailable(f"no host runs for {self.home}") from None
                    if time.monotonic() >= deadline:
                        raise _not_answering(self.home, info, self.wait) from None
                    await asyncio.sleep(RETRY_S)
        finally:
            self._opening = False
        self.connections += 1
        assert self._connected is not None
        self._connected.set()
        self._resolve_next_connection()

    def _resolve_next_connection(self) -> None:
        import asyncio

        done, self._next_connection = self._next_connection, asyncio.get_running_loop().create_future()
        if done is not None and not done.done():
            done.set_result(None)

    async def _dial(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        import asyncio

        sock = connect_unix(socket_path(self.home), HELLO_TIMEOUT_S)
        sock.setblocking(False)
        return await asyncio.open_unix_connection(sock=sock, limit=rpc.MAX_LINE)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, OSError):  # a line past the limit (framing lost), or a reset connection
                    break
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(message, dict):
                    continue
                if "id" in message and message.get("id") in self._pending:
                    future = self._pending.pop(message["id"])
                    if future.done():
                        continue
                    if "error" in message:
                        future.set_exception(rpc.RemoteError.of(message["error"]))
                    else:
                        future.set_result(message.get("result"))
                elif message.get("method") == "event" and self._on_event is not None:
                    params = message.get("params")
                    if isinstance(params, dict):
                        try:
                            self._on_event(params)
                        except Exception:  # a broken callback must not end the subscription
                            import logging  # not at the top: the blocking client's path stays light

                            logging.getLogger(__name__).exception("the event callback of host client %s failed",
                                                                  self.name)
                elif message.get("method") == rpc.BYE:
                    self._bye = True
        finally:
            self._lost_connection()

    def _lost_connection(self) -> None:
        import asyncio

        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._connected is not None:
            self._connected.clear()
        pending, self._pending = self._pending, {}
        bye, self._bye = self._bye, False
        for future in pending.values():
            if not future.done():
                future.set_exception(HostHandedOver(f"the host of {self.home} stopped; ask the next host") if bye
                                     else HostGone(f"the host of {self.home} stopped before answering"))
        if self._opening:  # `_open` is dialling: it tries again itself
            return
        if self.reconnect and not self._closed:
            self._reopening = asyncio.get_running_loop().create_task(self._reopen())
        else:
            self._give_up(HostGone(f"the host of {self.home} stopped"))

    def _give_up(self, reason: HostUnavailable) -> None:
        self.lost = reason
        if self._connected is not None:
            self._connected.set()  # wake waiters: they see `lost`
        if self._gone is not None:
            self._gone.set()
        if self._next_connection is not None and not self._next_connection.done():
            self._next_connection.set_result(None)

    async def _reopen(self) -> None:
        try:
            await self._open()
        except HostUnavailable as exc:
            self._give_up(exc)
            return
        if self._on_reconnect is not None:
            self._on_reconnect(self.host)

    async def _request(self, method: str, params: dict[str, Any] | None) -> Any:
        import asyncio

        writer = self._writer
        if writer is None:
            raise HostGone(f"the host of {self.home} stopped before answering")
        self._next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        writer.write(rpc.request(self._next_id, method, params))
        await writer.drain()
        return await future

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One request; raises rpc.RemoteError for an error answer, HostUnavailable when no host answers."""
        while True:
            if self._writer is None and self.reconnect and not self._closed:
                await self._wait_connected()
            next_connection = self._next_connection
            try:
                return await self._request(method, params)
            except rpc.RemoteError as exc:  # refused, not run: the next host may take it
                if exc.code != rpc.HANDING_OVER or not self.reconnect:
                    raise
            except HostHandedOver:  # never read: the next host may take it
                if not self.reconnect:
                    raise
            assert next_connection is not None
            await next_connection  # this connection ends, the next one opens (or the client gives up)
            if self.lost is not None:
                raise self.lost

    async def _wait_connected(self) -> None:
        assert self._connected is not None
        await self._connected.wait()
        if self.lost is not None:
            raise self.lost

    async def subscribe(self, on_event: Callable[[dict[str, Any]], None],
                        on_reconnect: Callable[[dict[str, Any]], None] | None = None,
                        types: list[str] | None = None) -> None:
        """`on_event(event_json)` for every change event and hook trace (or only the event `types` named),
        across reconnections; `on_reconnect(hello)` after each reconnection."""
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._event_types = list(types) if types is not None else None
        await self._request("host.subscribe", self._subscription())

    def _subscription(self) -> dict[str, Any]:
        return {} if self._event_types is None else {"types": self._event_types}

    async def rename(self, name: str) -> None:
        """Say hello again under another name (the host names calls after it); kept across reconnections."""
        self.name = name
        self.host = await self.call("client.hello", {"name": name, "pid": os.getpid()})

    async def closed(self) -> HostUnavailable:
        """Wait until the host is gone for good (no host took over); the reason."""
        assert self._gone is not None
        await self._gone.wait()
        assert self.lost is not None
        return self.lost

    async def close(self) -> None:
        self._closed = True
        if self._reopening is not None:
            self._reopening.cancel()
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            await self._reader_task
