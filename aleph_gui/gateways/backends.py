"""Where the MCP gateway's operations run: on a manager in this process, or relayed to the running host.

Both run the host's table of operations (`host/operations.py`) — `agent.tools`, `call`, `agent.prompts`,
`agent.prompt` — with the MCP client's name as `client`, so every call passes the same hook chain and shows in
the live hook log "from <client>". Both tell the gateway when plugins change (added, removed, changed, enabled,
disabled, granted, revoked), so it can send `notifications/tools/list_changed`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from aleph_gui.host import rpc
from aleph_gui.host.client import HostClient, HostUnavailable

if TYPE_CHECKING:
    from aleph_gui.core.events import ChangeEvent
    from aleph_gui.core.manager import ExtensionManager

log = logging.getLogger(__name__)

# Events after which the tools or prompts agents see may differ (hook traces and logs never change them).
CHANGE_TYPES = ("Ready", "PluginAdded", "PluginRemoved", "PluginChanged", "StateChanged")


class OperationFailed(Exception):
    """An operation answered with an error: `str()` is its sentence, `kind` the error class it names."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class Backend(Protocol):
    async def run(self, method: str, params: dict[str, Any], client: str) -> Any:
        """One operation of the host's table; raises OperationFailed."""

    def on_change(self, callback: Callable[[], None]) -> None:
        """`callback()` (on the loop) whenever plugins or skills changed."""


class InProcess:
    """Operations on a manager of this process: the host's own (the HTTP gateway) or one `mcp serve` started."""

    def __init__(self, manager: ExtensionManager) -> None:
        self.manager = manager
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        self._undo: Callable[[], None] | None = None

    async def run(self, method: str, params: dict[str, Any], client: str) -> Any:
        from aleph_gui.core.errors import AlephError
        from aleph_gui.host.operations import OPERATIONS

        self.in_flight += 1
        try:
            return await OPERATIONS[method].handler(self.manager, params, client)
        except AlephError as exc:  # InvalidParams included: one sentence and the class it names
            raise OperationFailed(str(exc), type(exc).__name__) from None
        finally:
            self.in_flight -= 1
            if not self.in_flight and self._idle is not None:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until no operation runs."""
        while self.in_flight:
            self._idle = asyncio.Event()
            await self._idle.wait()

    def on_change(self, callback: Callable[[], None]) -> None:
        def relevant(event: ChangeEvent) -> None:
            if event.type in CHANGE_TYPES:
                callback()

        self.close()
        self._undo = self.manager.subscribe(relevant)

    def close(self) -> None:
        if self._undo is not None:
            self._undo()
            self._undo = None


class HostRelay:
    """Operations relayed to the running host over host.sock. The connection says hello under the MCP client's
    name (so the host names the calls after it) and follows the host across a hand-over."""

    def __init__(self, client: HostClient) -> None:
        self.client = client
        self._callback: Callable[[], None] | None = None

    async def run(self, method: str, params: dict[str, Any], client: str) -> Any:
        try:
            if client and client != self.client.name:
                await self.client.rename(client)
            return await self.client.call(method, params)
        except rpc.RemoteError as exc:
            raise OperationFailed(exc.message, exc.type) from None
        except HostUnavailable as exc:
            raise OperationFailed(str(exc), type(exc).__name__) from None

    def on_change(self, callback: Callable[[], None]) -> None:
        self._callback = callback

    async def subscribe(self) -> None:
        """Start following the host's change events (call once connected)."""
        await self.client.subscribe(self._event, self._reconnected, types=list(CHANGE_TYPES))

    def _event(self, doc: dict[str, Any]) -> None:
        if self._callback is not None:
            self._callback()

    def _reconnected(self, hello: dict[str, Any]) -> None:
        log.info("the MCP gateway follows the new host of %s (pid %s)", self.client.home, hello.get("pid"))
        if self._callback is not None:  # another host may run other plugins
            self._callback()

    async def close(self) -> None:
        await self.client.close()
