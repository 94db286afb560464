"""Run blocking plugin calls (Extism) off the event loop, cheaply.

`loop.run_in_executor` costs about as much as a small WASM call itself (concurrent.futures
bookkeeping, future chaining). Worker threads reading one `SimpleQueue` and answering with
`call_soon_threadsafe` do the same job at about half the cost, which is most of a tool call's
overhead. The threads are daemons, started on first use.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
WORKERS = 8  # blocking calls at once across all plugins (a looping plugin holds one until its timeout)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():  # the caller gave up (cancelled); nothing to deliver
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Offloader:
    def __init__(self, workers: int = WORKERS) -> None:
        self._jobs: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[Any],
                                            Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()
        self._workers = workers
        self._started = 0
        self._lock = threading.Lock()

    def _ensure_workers(self) -> None:
        if self._started >= self._workers:
            return
        with self._lock:
            while self._started < self._workers:
                self._started += 1
                threading.Thread(target=self._work, name=f"plugin-call-{self._started}", daemon=True).start()

    def _work(self) -> None:
        while True:
            loop, future, fn, args = self._jobs.get()
            try:
                value, error = fn(*args), None
            except BaseException as exc:  # delivered to the awaiting coroutine, never lost
                value, error = None, exc
            try:
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the loop was closed while the call ran
                pass

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Await this to run `fn(*args)` on a worker thread."""
        self._ensure_workers()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, fn, args))
        return future


@functools.cache
def offloader() -> Offloader:
    """The process-wide worker pool (built lazily, never reassigned)."""
    return Offloader()
