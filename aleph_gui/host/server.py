"""`HostServer`: the host endpoint on `$ALEPH_HOME/host.sock` (NDJSON JSON-RPC, see `rpc`).

Every operation of `operations.OPERATIONS`, plus the endpoint's own methods:
  client.hello {name, pid}   names the client; its name is passed as `client=` to tool calls and events,
                             so the live hook log shows who asked. Answers {pid, kind, home, view}.
  host.status {}             {pid, kind, home, socket, http, started, in_flight, served, clients: [{name, pid}]}
                             (served: operations answered since start; clients: the other connections).
  host.subscribe {types?}    then notifications {"method": "event", "params": ChangeEvent.to_json()} for
                             every change event and hook trace (or only those whose type is in `types`, e.g.
                             a gateway that only needs to know when plugins change), until the connection closes.
  host.bye (notification)    the host's last message before it closes a connection cleanly: every request it
                             read was answered, so one still unanswered was never read (ask the next host).
  host.handover {}           (a headless host only) stop taking new work, let calls in flight finish, then
                             the owner stops; answers {handing_over: true, in_flight: n} at once.

Many requests are in flight per connection (each runs as its own task; answers carry the request's id).
Everything runs on the manager's loop (the qasync loop in the window): no threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aleph_gui.core.errors import AlephError
from aleph_gui.host import rpc
from aleph_gui.host.info import bind_unix, socket_path
from aleph_gui.host.operations import OPERATIONS, InvalidParams, Operation

if TYPE_CHECKING:
    from aleph_gui.core.events import ChangeEvent
    from aleph_gui.core.manager import ExtensionManager

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 32  # per connection: past this, its further requests wait (unread) for answers to go out
SUBSCRIBER_BACKLOG = 16 * 1024 * 1024  # bytes of events a subscriber may fall behind before it is dropped


class Connection(asyncio.Protocol):
    def __init__(self, server: HostServer) -> None:
        self._server = server
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.name = ""
        self.pid = 0
        self.in_flight = 0
        self._reading_paused = False
        self._scanned = 0  # bytes of the buffer already searched for a newline
        self.subscribed = False
        self.event_types: frozenset[str] | None = None  # None: every event

    # -- asyncio.Protocol ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._take_requests()

    def _take_requests(self) -> None:
        """Start the buffered requests, up to MAX_IN_FLIGHT at a time: a client that pipelines thousands
        waits for answers instead of queueing all its work at once (the window's UI thread is this one)."""
        buffer = self._buffer
        start = 0
        while self.in_flight < MAX_IN_FLIGHT:
            end = buffer.find(b"\n", max(start, self._scanned))
            if end < 0:
                self._scanned = len(buffer)  # a partial line: the next read searches only what it adds
                break
            line = bytes(buffer[start:end])
            start = end + 1
            if line.strip():
                self._server.on_line(self, line)
        del buffer[:start]
        self._scanned = max(0, self._scanned - start)
        # whole requests left for later: read nothing more until they start
        waiting = self.in_flight >= MAX_IN_FLIGHT and b"\n" in buffer
        if waiting != self._reading_paused and self.transport is not None:
            if waiting:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()
            self._reading_paused = waiting
        if not waiting and len(buffer) > rpc.MAX_LINE:
            self.send(rpc.error(None, rpc.INVALID_REQUEST, f"a message is longer than {rpc.MAX_LINE} bytes"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.forget(self)
        self.transport = None

    # -- writing ---------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def send_event(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size() > SUBSCRIBER_BACKLOG:
            # A subscriber that stopped reading must not make the host hold every event in memory.
            log.warning("dropping subscriber %s (pid %s): it fell %d bytes behind the event stream",
                        self.name or "?", self.pid, transport.get_write_buffer_size())
            self.close()
            return
        transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- back-pressure on requests ------------------------------------------------------------
    def started(self) -> None:
        self.in_flight += 1

    def finished(self) -> None:
        self.in_flight -= 1
        if self._reading_paused and self.in_flight <= MAX_IN_FLIGHT // 2:
            self._take_requests()


class HostServer:
    def __init__(self, manager: ExtensionManager, home: Path, kind: str, *,
                 on_handover: Callable[[int, str], None] | None = None) -> None:
        self.manager = manager
        self.home = home
        self.kind = kind
        self.path = socket_path(home)
        self.http: str | None = None  # set by the HTTP gateway when one runs on this loop
        self.started = 0.0
        self.served = 0
        self.connections: set[Connection] = set()
        self._on_handover = on_handover
        self._accepting = False
        self._stop_reason = ""
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribers: set[Connection] = set()
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on host.sock. The caller holds the home's lock (so a socket file there is stale)."""
        sock = bind_unix(self.path)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: Connection(self), sock=sock, backlog=128)
        self.started = time.time()
        self._accepting = True

    def stop_taking_work(self, reason: str) -> None:
        """New requests are refused with HANDING_OVER (clients ask the next host); no new connections."""
        self._accepting = False
        self._stop_reason = reason
        if self._server is not None:
            self._server.close()

    def cancel_in_flight(self) -> None:
        """Stop waiting for slow calls (a second Ctrl+C): cancel every request still running."""
        for task in list(self._tasks):
            task.cancel()

    async def stop(self, reason: str = "the host is stopping") -> None:
        """Stop taking work, let every call in flight finish and answer, close every connection and
        remove the socket file."""
        if self._accepting or self._server is not None:
            self.stop_taking_work(self._stop_reason or reason)
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        bye = rpc.notification(rpc.BYE, {"reason": self._stop_reason or reason})
        for conn in list(self.connections):
            conn.send(bye)
            conn.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
            self.path.unlink(missing_ok=True)

    # -- requests --------------------------------------------------------------------------------
    def on_line(self, conn: Connection, line: bytes) -> None:
        try:
            message = rpc.decode(line)
            if "method" not in message and ("result" in message or "error" in message):
                log.debug("ignoring an answer sent by client %s: the host asks nothing", conn.name)
                return
            request_id, method, params = rpc.check_request(message)
        except rpc.BadMessage as exc:
            conn.send(rpc.error(exc.request_id, exc.code, str(exc)))
            return
        own = self._own_methods.get(method)
        if own is not None:
            own(self, conn, request_id, params)
            return
        op = OPERATIONS.get(method)
        if op is None:
            conn.send(rpc.error(request_id, rpc.METHOD_NOT_FOUND, f"the host has no operation '{method}'"))
            return
        if not self._accepting:
            conn.send(rpc.error(request_id, rpc.HANDING_OVER, self._stop_reason or "the host is stopping"))
            return
        conn.started()
        task = asyncio.get_running_loop().create_task(self._run(conn, request_id, op, params))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, conn: Connection, request_id: Any, op: Operation, params: dict[str, Any]) -> None:
        try:
            value = await op.handler(self.manager, params, conn.name)
        except InvalidParams as exc:
            answer = rpc.error(request_id, rpc.INVALID_PARAMS, str(exc), {"type": "InvalidParams"})
        except AlephError as exc:
            answer = rpc.error(request_id, rpc.APP_ERROR, str(exc),
                               {"type": type(exc).__name__, "plugin": exc.plugin_id})
        except asyncio.CancelledError:  # a forced stop: say so, the call may have run in part
            conn.finished()
            self.served += 1
            if request_id is not None:
                conn.send(rpc.error(request_id, rpc.HOST_STOPPED, f"the host stopped before '{op.name}' finished",
                                    {"type": "HostStopped"}))
            raise
        except Exception as exc:  # a bug in an operation answers this request; the host keeps serving
            log.exception("operation %s failed", op.name)
            answer = rpc.error(request_id, rpc.INTERNAL_ERROR, f"the host failed on '{op.name}': {exc}",
                               {"type": type(exc).__name__})
        else:
            answer = rpc.result(request_id, value)
        conn.finished()
        self.served += 1
        if request_id is not None:
            conn.send(answer)

    # -- the endpoint's own methods -------------------------------------------------------------------
    def _hello(self, conn: Connection, request_id: Any, params: dict[str, Any]) -> None:
        name, pid = params.get("name"), params.get("pid")
        conn.name = name if isinstance(name, str) else ""
        conn.pid = pid if isinstance(pid, int) else 0
        conn.send(rpc.result(request_id, {"pid": os.getpid(), "kind": self.kind, "home": str(self.home),
                                          "view": self.view()}))

    def view(self) -> dict[str, Any]:
        """What this host's manager sees: clients compare it with what they were asked to look at."""
        locations = self.manager.locations
        return {"project": str(locations.project) if locations.project else None,
                "builtin": locations.builtin is not None, "safe_mode": self.manager.safe_mode}

    def status(self, asking: Connection) -> dict[str, Any]:
        return {"pid": os.getpid(), "kind": self.kind, "home": str(self.home), "socket": str(self.path),
                "http": self.http, "started": self.started, "in_flight": self.in_flight, "served": self.served,
                "clients": [{"name": c.name, "pid": c.pid} for c in self.connections if c is not asking]}

    def _status(self, conn: Connection, request_id: Any, params: dict[str, Any]) -> None:
        conn.send(rpc.result(request_id, self.status(conn)))

    def _subscribe(self, conn: Connection, request_id: Any, params: dict[str, Any]) -> None:
        types = params.get("types")
        if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            conn.send(rpc.error(request_id, rpc.INVALID_PARAMS, "'types' must be a list of event type names",
                                {"type": "InvalidParams"}))
            return
        conn.event_types = frozenset(types) if types is not None else None
        if not conn.subscribed:
            conn.subscribed = True
            self._subscribers.add(conn)
            if self._unsubscribe is None:  # the event stream costs nothing while nobody listens
                self._unsubscribe = self.manager.subscribe(self._broadcast)
        conn.send(rpc.result(request_id, {"subscribed": True}))

    def _handover(self, conn: Connection, request_id: Any, params: dict[str, Any]) -> None:
        if self._on_handover is None:
            conn.send(rpc.error(request_id, rpc.APP_ERROR,
                                f"the {self.kind} host does not hand over; close it to stop hosting",
                                {"type": "HandoverRefused"}))
            return
        conn.send(rpc.result(request_id, {"handing_over": True, "in_flight": self.in_flight}))
        if self._accepting:
            self.stop_taking_work(f"the host is handing over to the {conn.name or 'next host'}; ask again")
            self._on_handover(conn.pid, conn.name)

    _own_methods: dict[str, Callable[[HostServer, Connection, Any, dict[str, Any]], None]] = {
        "client.hello": _hello, "host.status": _status, "host.subscribe": _subscribe, "host.handover": _handover,
    }

    # -- events ---------------------------------------------------------------------------------------
    def _broadcast(self, event: ChangeEvent) -> None:
        data = b""
        for conn in list(self._subscribers):
            if conn.event_types is not None and event.type not in conn.event_types:
                continue
            data = data or rpc.notification("event", event.to_json())
            conn.send_event(data)

    def forget(self, conn: Connection) -> None:
        self.connections.discard(conn)
        if conn in self._subscribers:
            self._subscribers.discard(conn)
            if not self._subscribers and self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
