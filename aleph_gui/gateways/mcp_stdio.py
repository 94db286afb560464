"""`aleph-ext mcp serve`: the MCP gateway on stdio, for the agent that started it (Claude Code, Claude Desktop,
any MCP client).

It relays every operation to the running host (the window or `aleph-ext serve`), so calls show in the window's
live hook log and use the plugins the host already runs. With no host — or one that looks at other plugins
(another project, builtin plugins or safe mode set differently) — it starts the core in this process and says so
on stderr. It keeps following: when the host goes away and no other takes over, the core starts here; when a
host starts while the core runs here, it moves over to the host (the core here stops once its calls finished).
Either move makes the gateway compare its listings and tell the client if the tools changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aleph_gui.core.paths import Locations
from aleph_gui.gateways.backends import Backend, HostRelay, InProcess
from aleph_gui.gateways.mcp_gateway import McpGateway
from aleph_gui.host.client import HostClient, HostUnavailable
from aleph_gui.host.info import read_host_info

log = logging.getLogger(__name__)

LOOK_FOR_HOST_S = 1.0  # while the core runs here: how often to look for a host that started since
# How long to wait for a host that is starting or handing over; past it the core starts here (an MCP client gives
# its server little time to answer `initialize`, and the gateway moves to the host once it answers).
HOST_WAIT_S = 10.0
CLIENT_NAME = "mcp"  # until the MCP client says its own name in `initialize`


class CoreFinder:
    """Where the gateway's operations run, and moving them when a host comes or goes."""

    def __init__(self, locations: Locations, *, safe_mode: bool, view_ok: Callable[[Any], bool],
                 say: Callable[[str], None]) -> None:
        self.locations = locations
        self.safe_mode = safe_mode
        self.view_ok = view_ok
        self.say = say
        self.backend: Backend | None = None
        self.gateway: McpGateway | None = None
        self._refused_pid: int | None = None  # a host that looks at other plugins: not asked again
        self._task: asyncio.Task[None] | None = None

    @property
    def home(self) -> Any:
        return self.locations.home

    async def start(self) -> Backend:
        self.backend = await self._relay() or await self._in_process()
        return self.backend

    def follow(self, gateway: McpGateway) -> None:
        self.gateway = gateway
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _relay(self) -> HostRelay | None:
        client = HostClient(self.home, CLIENT_NAME, reconnect=True, wait=HOST_WAIT_S)
        try:
            hello = await client.connect()
        except HostUnavailable:
            return None
        if not self.view_ok(hello.get("view")):
            self._refused_pid = hello.get("pid")
            self.say(f"aleph-ext mcp serve: the {hello.get('kind')} host of {self.home} (pid {hello.get('pid')}) "
                     "runs other plugins than this command asks for (another project, or builtin plugins or safe "
                     "mode set differently); running the core in this process instead")
            await client.close()
            return None
        relay = HostRelay(client)
        await relay.subscribe()
        self.say(f"aleph-ext mcp serve: relaying to the {hello.get('kind')} host of {self.home} "
                 f"(pid {hello.get('pid')})")
        return relay

    async def _in_process(self) -> InProcess:
        from aleph_gui.core.manager import ExtensionManager

        self.say(f"aleph-ext mcp serve: no host runs for {self.home}; running the core in this process (open "
                 "aleph-gui or run aleph-ext serve to see agents' calls live)")
        manager = ExtensionManager(self.locations, safe_mode=self.safe_mode, watch=True)
        await manager.start()
        return InProcess(manager)

    async def _follow(self) -> None:
        while True:
            try:
                await self._move_when_needed()
            except Exception as exc:  # e.g. the core here could not start: say so, try again in a moment
                self.say(f"aleph-ext mcp serve: {exc}")
                await asyncio.sleep(LOOK_FOR_HOST_S)

    async def _move_when_needed(self) -> None:
        backend = self.backend
        if isinstance(backend, HostRelay):
            if backend.client.lost is None:
                reason = await backend.client.closed()
                self.say(f"aleph-ext mcp serve: {reason} and no host took over")
            self._switch(await self._in_process())
            await backend.close()
            return
        await asyncio.sleep(LOOK_FOR_HOST_S)
        info = read_host_info(self.home)
        if info is None or not info.alive or info.pid == self._refused_pid:
            return
        relay = await self._relay()
        if relay is not None:
            self._switch(relay)
            if isinstance(backend, InProcess):
                await _retire(backend)

    def _switch(self, backend: Backend) -> None:
        self.backend = backend
        if self.gateway is not None:
            self.gateway.use(backend)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        backend = self.backend
        if isinstance(backend, HostRelay):
            await backend.close()
        elif isinstance(backend, InProcess):
            await _retire(backend)


async def _retire(backend: InProcess) -> None:
    """Stop a core of this process once the calls it runs have finished."""
    backend.close()
    await backend.idle()
    await backend.manager.stop()


async def serve(locations: Locations, *, safe_mode: bool, view_ok: Callable[[Any], bool],
                say: Callable[[str], None]) -> int:
    """Serve MCP on this process's stdin/stdout until the client closes stdin; the exit code."""
    from aleph_gui.gateways.stdio_wire import stdio_wire

    finder = CoreFinder(locations, safe_mode=safe_mode, view_ok=view_ok, say=say)
    try:
        backend = await finder.start()
    except Exception as exc:  # the state database could not be opened, the home is not writable: one sentence
        say(f"aleph-ext mcp serve: the core could not start: {exc}")
        return 1
    gateway = McpGateway(backend)
    finder.follow(gateway)
    try:
        async with stdio_wire() as (read, write):
            await gateway.server.run(read, write, gateway.initialization_options())
    finally:
        await gateway.close()
        await finder.close()
    return 0
