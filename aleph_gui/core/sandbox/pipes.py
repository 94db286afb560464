"""asyncio streams over plain pipe file descriptors (the ends of a command started elsewhere)."""

from __future__ import annotations

import asyncio
import os


class _WriterProtocol(asyncio.streams.FlowControlMixin):
    """Flow control for `drain()`, and the close waiter `StreamWriter.wait_closed()` needs."""

    def __init__(self) -> None:
        super().__init__()
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self._closed.done():
            self._closed.set_result(None)

    def _get_close_waiter(self, stream: asyncio.StreamWriter) -> asyncio.Future[None]:
        return self._closed


async def read_pipe(fd: int, limit: int = 2**16) -> asyncio.StreamReader:
    """A StreamReader for the read end `fd` (closed with the transport at EOF)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop),
                                 os.fdopen(fd, "rb", buffering=0))
    return reader


async def write_pipe(fd: int) -> asyncio.StreamWriter:
    """A StreamWriter for the write end `fd`; `close()` closes it, so the reader sees EOF."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(_WriterProtocol, os.fdopen(fd, "wb", buffering=0))
    return asyncio.StreamWriter(transport, protocol, None, loop)
