"""The host's HTTP gateway on 127.0.0.1: MCP over streamable HTTP at `/mcp` and plugins' HTTP routes at
`/plugins/<plugin-id>/<route path>`, served by uvicorn on the host's own event loop (the window's qasync loop or
`aleph-ext serve`'s).

Every request passes one guard first: the `Host` must be a loopback name (421 otherwise), an `Origin`, when
sent, must be a loopback origin (403 — a web page that rebinds its DNS name to 127.0.0.1 is refused), and
`Authorization: Bearer <token>` must carry the home's token from host.json (401). The token is never passed on
to a plugin. A plugin route answers what the plugin's handler answers; when the plugin cannot answer, the
gateway does, in one sentence of JSON ({"error", "plugin"}): 404 for an unknown plugin or route, 503 for a
plugin that is disabled, waiting for approval or not loaded, 504 for a handler that ran out of time, 502 for one
that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import uvicorn
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import Response

from aleph_gui.core.errors import (
    AlephError,
    PluginCallError,
    PluginNotRunnable,
    PluginTimeout,
    RouteNotFound,
    UnknownPlugin,
)
from aleph_gui.gateways.backends import InProcess
from aleph_gui.gateways.mcp_gateway import McpGateway

if TYPE_CHECKING:
    from aleph_gui.core.manager import ExtensionManager

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

BIND = "127.0.0.1"
DEFAULT_PORT = 8741
MAX_BODY = 16 * 1024 * 1024  # a route's request body; larger ones are refused with 413
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
ROUTE_CLIENT = "http"  # who asked, in the live hook log, for plugin routes
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade"}
STARTED_POLL_S = 0.01


class GatewayError(Exception):
    """The HTTP gateway could not start: one sentence."""


# -- the guard ---------------------------------------------------------------------------------------------


def _json(status: int, message: str, plugin: str | None = None,
          headers: dict[str, str] | None = None) -> Response:
    body = {"error": message} if plugin is None else {"error": message, "plugin": plugin}
    return Response(json.dumps(body, ensure_ascii=False) + "\n", status_code=status, headers=headers,
                    media_type="application/json")


def loopback_host(host: str) -> bool:
    """A `Host` header naming this machine's loopback (any port)."""
    try:
        return urlsplit(f"http://{host}").hostname in LOOPBACK_NAMES
    except ValueError:
        return False


def loopback_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_NAMES


class Guard:
    """Host, Origin and bearer-token checks before anything else answers (see the module doc)."""

    def __init__(self, app: ASGIApp, token: str, routes: PluginRoutes,
                 mounts: dict[str, ASGIApp] | None = None) -> None:
        self.app = app
        self.routes = routes
        self._expected = f"Bearer {token}".encode()
        self.mounts = mounts or {}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan: the MCP session manager starts and stops with the server
            await self.app(scope, receive, send)
            return
        mount = self.mounts.get(scope["path"])
        if mount is not None:
            await mount(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(headers)
        if refusal is not None:
            await refusal(scope, receive, send)
        elif scope["path"].startswith(PluginRoutes.PREFIX):
            await self.routes(scope, receive, send, headers)
        else:
            await self.app(scope, receive, send)

    def _refusal(self, headers: dict[str, str]) -> Response | None:
        if not loopback_host(headers.get("host", "")):
            return _json(421, "this server answers only requests addressed to 127.0.0.1 or localhost")
        origin = headers.get("origin")
        if origin is not None and not loopback_origin(origin):
            return _json(403, f"requests from the web origin {origin[:200]} are refused: only programs on this "
                              "machine may call Aleph")
        sent = headers.get("authorization", "").encode("latin-1")
        if not hmac.compare_digest(sent, self._expected):
            why = "a wrong bearer token" if sent else "no bearer token"
            return _json(401, f"the request has {why}; send 'Authorization: Bearer <token>' with the token from "
                              "$ALEPH_HOME/host.json (or the window's Connect an agent dialog)",
                         headers={"WWW-Authenticate": 'Bearer realm="aleph"'})
        return None


# -- plugin routes ---------------------------------------------------------------------------------------------


def _query(query_string: bytes) -> dict[str, Any]:
    """`?a=1&b=2&b=3` -> {"a": "1", "b": ["2", "3"]}: one value as a string, repeated keys as a list."""
    out: dict[str, Any] = {}
    for key, values in parse_qs(query_string.decode("latin-1"), keep_blank_values=True).items():
        out[key] = values[0] if len(values) == 1 else values
    return out


def _body(raw: bytes, content_type: str) -> Any:
    """The request body as the handler gets it: JSON when it says so and parses, else text."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


async def _read_body(receive: Any) -> bytes | None:
    """The body, or None when it is larger than MAX_BODY."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


class PluginRoutes:
    """`/plugins/<plugin-id>/<path>` as a plain ASGI app: a route answer is on the hot path of every plugin
    route call, so it goes straight from the guard to the manager, without a framework's routing between."""

    PREFIX = "/plugins/"

    def __init__(self, manager: ExtensionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Any, send: Any, headers: dict[str, str]) -> None:
        plugin_id, _, path = scope["path"][len(self.PREFIX):].partition("/")
        raw = await _read_body(receive)
        if raw is None:
            response = _json(413, f"the request body is larger than {MAX_BODY // (1024 * 1024)} MB", plugin_id)
        elif not plugin_id:
            response = _json(404, "name the plugin: /plugins/<plugin-id>/<path>")
        else:
            response = await self.answer(scope, plugin_id, path, raw, headers)
        await response(scope, receive, send)

    async def answer(self, scope: Scope, plugin_id: str, path: str, raw: bytes, headers: dict[str, str]) -> Response:
        method = scope["method"]
        passed = {k: v for k, v in headers.items() if k not in ("authorization", "cookie")}
        try:
            answer = await self.manager.http_request(plugin_id, method, path, query=_query(scope["query_string"]),
                                                     headers=passed, body=_body(raw, headers.get("content-type", "")),
                                                     client=ROUTE_CLIENT)
        except UnknownPlugin:
            return _json(404, f"no plugin '{plugin_id}' is installed (aleph-ext list shows the plugins)", plugin_id)
        except RouteNotFound as exc:
            return _json(404, str(exc), plugin_id)
        except PluginNotRunnable as exc:  # ReviewRequired included: disabled, not approved, not loaded
            return _json(503, f"{exc}{self._hint(plugin_id, str(exc))}", plugin_id)
        except PluginTimeout as exc:
            return _json(504, str(exc), plugin_id)
        except PluginCallError as exc:
            return _json(502, str(exc), plugin_id)
        except AlephError as exc:  # ScopeDenied (not approved) and the like
            return _json(503, f"{exc}{self._hint(plugin_id, str(exc))}", plugin_id)
        except Exception as exc:  # a bug below must answer this request, not take the gateway down
            log.exception("the route %s /%s of %s failed", method, path, plugin_id)
            return _json(500, f"the host failed on this request: {type(exc).__name__}: {exc}", plugin_id)
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(answer.body, status_code=answer.status, headers=kept)

    def _hint(self, plugin_id: str, sentence: str) -> str:
        """How to make the plugin answer, unless the sentence says it already."""
        try:
            state = self.manager.plugin(plugin_id).state
        except AlephError:
            return ""
        fix = {"disabled": "enable", "needs_review": "grant"}.get(state)
        if fix is None or f"aleph-ext {fix}" in sentence:
            return ""
        return f"; {'turn it on' if fix == 'enable' else 'review and approve it'} with: aleph-ext {fix} {plugin_id}"


# -- the server ------------------------------------------------------------------------------------------------


class _OnThisLoop(uvicorn.Server):
    """uvicorn on the host's loop: the host owns SIGINT/SIGTERM, so uvicorn must not take them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1:`port` (0: any free port); raises GatewayError in one sentence."""
    if not 0 <= port <= 65535:
        raise GatewayError(f"{port} is not a port number (0-65535)")
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so; without it a keep-alive client
    # waits ~40 ms (delayed ACK) for the second segment of every answer.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((BIND, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise GatewayError(f"port {port} on {BIND} is already in use by another program; choose another port "
                               "(or 0 for any free one)") from None
        if exc.errno == errno.EACCES:
            raise GatewayError(f"port {port} needs privileges this user does not have; choose a port above 1023") \
                from None
        raise GatewayError(f"cannot listen on {BIND}:{port} ({exc.strerror or exc})") from None
    return sock


def build_app(manager: ExtensionManager, token: str, *, mounts: dict[str, ASGIApp] | None = None
              ) -> tuple[Guard, McpGateway]:
    """The whole HTTP app behind its guard, and the MCP gateway inside it. `mounts` are extra ASGI apps answered
    at exact paths before the guard (the benchmarks measure the bare server with one)."""
    gateway = McpGateway(InProcess(manager))
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"])
    app = gateway.server.streamable_http_app(streamable_http_path="/mcp", transport_security=security)
    return Guard(app, token, PluginRoutes(manager), mounts), gateway


class HttpGateway:
    """`start()` serves on 127.0.0.1:port and returns the base URL; `stop()` closes it (calls in flight first)."""

    def __init__(self, manager: ExtensionManager, token: str, port: int = DEFAULT_PORT, *,
                 mounts: dict[str, ASGIApp] | None = None) -> None:
        self.manager = manager
        self.token = token
        self.port = port
        self.mounts = mounts
        self.url: str | None = None
        self.gateway: McpGateway | None = None
        self._server: _OnThisLoop | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        sock = bind(self.port)
        app, self.gateway = build_app(self.manager, self.token, mounts=self.mounts)
        # log_config=None: uvicorn's records go to the host's own logging (stderr), not a setup of its own.
        config = uvicorn.Config(app, lifespan="on", log_config=None, log_level="warning", access_log=False,
                                http="h11", ws="none", timeout_graceful_shutdown=2, server_header=False)
        sdk_log = logging.getLogger("mcp")
        if sdk_log.level == logging.NOTSET:  # the SDK logs every HTTP session it opens at INFO
            sdk_log.setLevel(logging.WARNING)
        server = self._server = _OnThisLoop(config)
        task = self._task = asyncio.get_running_loop().create_task(self._serve(server, sock))
        while not server.started:  # uvicorn says nothing else when it is ready
            if task.done():
                await task
                raise GatewayError("the HTTP gateway stopped while starting")
            await asyncio.sleep(STARTED_POLL_S)
        self.port = sock.getsockname()[1]
        self.url = f"http://{BIND}:{self.port}"
        return self.url

    @staticmethod
    async def _serve(server: _OnThisLoop, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn exits when the app's startup fails: say it in one sentence instead
            raise GatewayError("the MCP session manager could not start") from None
        finally:
            sock.close()

    async def stop(self) -> None:
        server, task = self._server, self._task
        self._server = self._task = None
        self.url = None
        if server is not None:
            server.should_exit = True
        if task is not None:
            with contextlib.suppress(GatewayError):
                await task
        if self.gateway is not None:
            await self.gateway.close()
            self.gateway = None
