"""The MCP wire of `aleph-ext mcp serve`: stdin and stdout read and written on the event loop itself.

The SDK's `stdio_server()` reads and writes the standard streams through worker threads (a thread hop per line
in and two per message out); for a gateway that already makes a hop to the host for every call, those hops
are most of what it adds. Here the SDK gets the same two streams as non-blocking pipes on the loop, and the
same protection the SDK gives: while serving, fd 0 reads the null device and fd 1 points at stderr, so stray
output of anything in this process (or of a child that inherits them) never reaches the wire.

When stdin or stdout is not a pipe, socket or terminal (a regular file), the SDK's own threaded streams are
used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

MAX_LINE = 64 * 1024 * 1024  # one MCP message; tool inputs travel whole


class _LineReader:
    """What the SDK iterates over: text lines of the client's messages."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _LineReader:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except ValueError:  # a line past MAX_LINE: the framing is lost, so the conversation ends
            raise StopAsyncIteration from None
        if not line:
            raise StopAsyncIteration
        return line.decode("utf-8", errors="replace")


class _LineWriter:
    """What the SDK writes its messages to."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


@asynccontextmanager
async def stdio_wire() -> AsyncIterator[tuple[Any, Any]]:
    """(read stream, write stream) for `Server.run`, over this process's stdin and stdout."""
    from mcp.server.stdio import stdio_server

    loop = asyncio.get_running_loop()
    wire_in, wire_out = os.dup(0), os.dup(1)
    kept_in, kept_out = os.dup(0), os.dup(1)  # to put fd 0 and fd 1 back afterwards
    transports: list[asyncio.BaseTransport] = []
    try:
        reader = asyncio.StreamReader(limit=MAX_LINE)
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                         os.fdopen(wire_in, "rb", buffering=0))
        transports.append(read_transport)
        write_transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                                  os.fdopen(wire_out, "wb", buffering=0))
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, protocol, None, loop)
    except ValueError:  # not a pipe, socket or terminal: the SDK's threaded streams read anything
        for transport in transports:
            transport.close()
        for fd in (kept_in, kept_out):
            os.close(fd)
        async with stdio_server() as streams:
            yield streams
        return
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    try:
        async with stdio_server(stdin=_LineReader(reader), stdout=_LineWriter(writer)) as streams:  # type: ignore[arg-type]
            yield streams
    finally:
        for transport in transports:
            transport.close()
        os.dup2(kept_in, 0)
        os.dup2(kept_out, 1)
        os.close(kept_in)
        os.close(kept_out)
