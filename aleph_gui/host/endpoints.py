"""`HostEndpoints`: where agents reach this host, and the HTTP gateway switched on and off — for `aleph-ext serve`
and the window (its "Connect an agent" dialog reads and changes it; the dialog never touches the core).

    endpoints = HostEndpoints(home, manager, hosting)   # hosting: None when this process does not host
    url = await endpoints.start_http(8741)              # or raises GatewayError (one sentence)
    endpoints.http, endpoints.mcp_url, endpoints.token, endpoints.socket
    await endpoints.stop_http()                         # before the host stops serving

Starting and stopping rewrite host.json (`http`), so `aleph-ext host status` and every client see it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.host.hosting import Hosting

MCP_PATH = "/mcp"


class HostEndpoints:
    def __init__(self, home: Path, manager: ExtensionManager, hosting: Hosting | None) -> None:
        self.home = home
        self.manager = manager
        self.hosting = hosting
        self._gateway: Any = None  # http_gateway.HttpGateway while HTTP is on

    @property
    def hosts(self) -> bool:
        """Does this process host the home (so agents reach the plugins it runs)?"""
        return self.hosting is not None and self.hosting.server is not None

    @property
    def socket(self) -> Path | None:
        return self.hosting.server.path if self.hosts and self.hosting and self.hosting.server else None

    @property
    def token(self) -> str:
        return self.hosting.token if self.hosting is not None else ""

    @property
    def http(self) -> str | None:
        """The HTTP gateway's base URL (`http://127.0.0.1:PORT`) while it runs."""
        return self._gateway.url if self._gateway is not None else None

    @property
    def mcp_url(self) -> str | None:
        return self.http + MCP_PATH if self.http else None

    @property
    def port(self) -> int | None:
        return self._gateway.port if self._gateway is not None else None

    async def start_http(self, port: int) -> str:
        """Serve MCP and plugin routes on 127.0.0.1:`port` (0: any free port); the base URL. Restarts on the new
        port when HTTP already runs on another one."""
        from aleph_gui.gateways.http_gateway import GatewayError, HttpGateway

        if not self.hosts:
            raise GatewayError(f"this process does not host {self.home}, so it cannot serve HTTP for it")
        if self._gateway is not None:
            if port in (0, self._gateway.port):
                return str(self._gateway.url)
            await self.stop_http()
        gateway = HttpGateway(self.manager, self.token, port)
        url = await gateway.start()
        self._gateway = gateway
        self._publish(url)
        return url

    async def stop_http(self) -> None:
        gateway, self._gateway = self._gateway, None
        if gateway is None:
            return
        await gateway.stop()
        self._publish(None)

    def _publish(self, url: str | None) -> None:
        hosting = self.hosting
        if hosting is not None and hosting.server is not None:
            hosting.server.http = url
            hosting.publish()
