"""The filtering proxy: the one way out of a sandbox whose plugin was granted a list of hosts.

It listens on a Unix socket outside the sandbox (bound into it; the sandbox itself has no network)
and accepts `CONNECT host:port` (HTTPS and anything tunnelled) and absolute-form requests
(`GET http://host/path`, also `https://`, which it fetches over TLS), each only to a granted host.
Everything else gets a 403 with a body that says why, and the refusal is reported through
`on_refused` (the plugin's log). One request per connection for plain HTTP (`Connection: close`),
so every request's host is checked. Names are resolved here, on the host; a name that resolves to
this computer (loopback, link-local) is refused unless `localhost` itself was granted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import ssl
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aleph_gui.core.sandbox.hosts import HostRules, ip_literal, is_local_address

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
HEAD_LIMIT = 64 * 1024
HEAD_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 10.0
_CHUNK = 64 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authorization",
                         "proxy-authenticate", "te", "trailer", "upgrade", "host"})


class Refused(Exception):
    """A request the proxy will not forward; `status` and the sentence go back to the plugin."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _reply(status: int, reason: str, body: str) -> bytes:
    data = body.encode()
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(data)}\r\nX-Proxy-Error: aleph-sandbox\r\nConnection: close\r\n\r\n"
            ).encode() + data


_REASONS = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}


class FilteringProxy:
    """One plugin's proxy. `await FilteringProxy.start(...)`, hand `socket_path` to the sandbox,
    `await close()` when the plugin's processes are gone."""

    def __init__(self, plugin_id: str, hosts: Iterable[str] | HostRules, *,
                 on_refused: Callable[[str], None] | None = None, resolver: Resolver | None = None) -> None:
        self.plugin_id = plugin_id
        self.rules = hosts if isinstance(hosts, HostRules) else HostRules.of(hosts)
        self.on_refused = on_refused
        self.resolver = resolver or system_resolver
        self.socket_path = ""
        self._dir = ""
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, plugin_id: str, hosts: Iterable[str] | HostRules, *,
                    on_refused: Callable[[str], None] | None = None,
                    resolver: Resolver | None = None) -> FilteringProxy:
        proxy = cls(plugin_id, hosts, on_refused=on_refused, resolver=resolver)
        await proxy._listen()
        return proxy

    async def _listen(self) -> None:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        base = runtime if runtime and os.path.isdir(runtime) else None
        self._dir = tempfile.mkdtemp(prefix="aleph-proxy-", dir=base)  # 0700: only this user
        self.socket_path = os.path.join(self._dir, "proxy.sock")
        self._server = await asyncio.start_unix_server(self._handle, path=self.socket_path, limit=HEAD_LIMIT)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = ""

    async def __aenter__(self) -> FilteringProxy:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # --- one connection -------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except Refused as refused:
            with contextlib.suppress(OSError):
                writer.write(_reply(refused.status, _REASONS[refused.status], refused.sentence + "\n"))
                await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
            log.debug("%s: proxy connection ended: %s", self.plugin_id, err)
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
        except asyncio.LimitOverrunError:
            raise Refused(400, "The request head is too large for the sandbox's proxy.") from None
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise Refused(400, "The sandbox's proxy accepts HTTP/1.x proxy requests only.")
        method, target, version = parts
        if method.upper() == "CONNECT":
            host, port = self._authority(target)
            up_reader, up_writer = await self._open(host, port, tls=False)
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await _relay(reader, writer, up_reader, up_writer)
            return
        url = urlsplit(target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise Refused(400, "The sandbox's proxy accepts CONNECT and absolute http(s):// requests only.")
        try:
            port = url.port or (443 if url.scheme == "https" else 80)
        except ValueError:
            raise Refused(400, f"'{target}' has an invalid port.") from None
        host = url.hostname
        up_reader, up_writer = await self._open(host, port, tls=url.scheme == "https")
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        kept = [line for line in lines[1:] if line and line.split(":", 1)[0].strip().lower() not in _HOP_BY_HOP]
        authority = url.netloc.rsplit("@", 1)[-1]
        up_writer.write("\r\n".join([f"{method} {path} {version}", f"Host: {authority}", *kept,
                                     "Connection: close", "", ""]).encode("latin-1"))
        await _relay(reader, writer, up_reader, up_writer)

    def _authority(self, target: str) -> tuple[str, int]:
        url = urlsplit("//" + target)
        try:
            port = url.port
        except ValueError:
            port = None
        if not url.hostname or port is None:
            raise Refused(400, f"CONNECT needs host:port, not '{target}'.")
        return url.hostname, port

    def _refuse(self, host: str, port: int, why: str) -> Refused:
        sentence = (f"Aleph sandbox: {self.plugin_id} may not connect to {host}:{port} — {why} "
                    f"(granted hosts: {self.rules.describe()}).")
        if self.on_refused is not None:
            self.on_refused(sentence)
        return Refused(403, sentence)

    async def _addresses(self, host: str, port: int) -> list[str]:
        """Where a granted host may be reached; raises Refused when it is not granted."""
        pattern = self.rules.match(host)
        if pattern is None:
            raise self._refuse(host, port, "it is not a granted host")
        literal = ip_literal(host)
        if literal is not None:
            return [str(literal)]
        try:
            found = await self.resolver(host, port)
        except OSError as err:
            raise Refused(502, f"Aleph sandbox: {host} could not be resolved: {err}.") from None
        if self.rules.may_resolve_locally(pattern):
            return found
        remote = [a for a in found if (ip := ip_literal(a)) is not None and not is_local_address(ip)]
        if not remote:
            raise self._refuse(host, port, f"it resolves to this computer ({', '.join(found) or 'nothing'})")
        return remote

    async def _open(self, host: str, port: int, *, tls: bool
                    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await self._addresses(host, port)
        context = ssl.create_default_context() if tls else None
        errors: list[str] = []
        for address in addresses:
            try:
                return await asyncio.wait_for(asyncio.open_connection(
                    address, port, ssl=context, server_hostname=host if tls else None), CONNECT_TIMEOUT_S)
            except (TimeoutError, OSError) as err:
                errors.append(f"{address}: {err or 'timed out'}")
        raise Refused(502, f"Aleph sandbox: could not reach {host}:{port} ({'; '.join(errors)}).")


async def _pump(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(_CHUNK):
            target.write(data)
            await target.drain()
        if target.can_write_eof():
            target.write_eof()
    except (OSError, RuntimeError):
        target.close()


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
    """Copy both ways. The client may half-close and still wait for the answer; once the upstream
    side has ended, nothing more can come back, so the exchange is over."""
    outgoing = asyncio.ensure_future(_pump(reader, up_writer))
    try:
        await _pump(up_reader, writer)
    finally:
        outgoing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await outgoing
        up_writer.close()
        with contextlib.suppress(OSError):
            await up_writer.wait_closed()
