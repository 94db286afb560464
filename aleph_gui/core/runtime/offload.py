"""Run blocking plugin calls (Extism) off the event loop, cheaply.

`loop.run_in_executor` costs about as much as a small WASM call itself (concurrent.futures
bookkeeping, future chaining). Worker threads answering with `call_soon_threadsafe` do the same job
at about half the cost.

The most recently idle worker takes the next call (last in, first out). A caller that makes one
call after another is then served by one thread, which the scheduler keeps on the CPU that wakes
it: measured with tests/benchmarks/bench_wasm.py, handing each call to the next of eight threads in
turn (a shared queue) cost about 15 µs more per call, mostly in waking a thread on the other CPU.
More threads start only when calls overlap (up to `WORKERS`); calls beyond that wait their turn.
The threads are daemons, started on first use.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
WORKERS = 8  # blocking calls at once across all plugins (a looping plugin holds one until its timeout)

_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """Deliver a worker thread's outcome on the loop (call it with `loop.call_soon_threadsafe`)."""
    if future.done():  # the caller gave up (cancelled); nothing to deliver
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class Offloader:
    def __init__(self, workers: int = WORKERS) -> None:
        self._max = workers
        self._started = 0
        self._idle: list[queue.SimpleQueue[_Job]] = []  # each idle worker's inbox, most recent last
        self._backlog: deque[_Job] = deque()  # calls waiting while every worker is busy
        self._lock = threading.Lock()

    def _work(self, inbox: queue.SimpleQueue[_Job], job: _Job | None) -> None:
        while True:
            if job is None:
                job = inbox.get()
            loop, future, fn, args = job
            try:
                value, error = fn(*args), None
            except BaseException as exc:  # delivered to the awaiting coroutine, never lost
                value, error = None, exc
            # Idle again BEFORE answering, so the caller's next call comes back to this thread.
            with self._lock:
                job = self._backlog.popleft() if self._backlog else None
                if job is None:
                    self._idle.append(inbox)
            try:
                loop.call_soon_threadsafe(settle, future, value, error)
            except RuntimeError:  # the loop was closed while the call ran
                pass
            del future, value, error, fn, args

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Await this to run `fn(*args)` on a worker thread."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        job: _Job = (loop, future, fn, args)
        with self._lock:
            if self._idle:
                inbox = self._idle.pop()
            elif self._started < self._max:
                self._started += 1
                inbox, number = None, self._started
            else:
                self._backlog.append(job)
                return future
        if inbox is not None:
            inbox.put(job)
        else:
            threading.Thread(target=self._work, args=(queue.SimpleQueue(), job), daemon=True,
                             name=f"plugin-call-{number}").start()
        return future


@functools.cache
def offloader() -> Offloader:
    """The process-wide worker pool (built lazily, never reassigned)."""
    return Offloader()
