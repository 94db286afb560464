"""Deadlines of many calls in flight, kept with one event-loop timer.

A timer per call costs more than the rest of a Node.js call, so one timer fires at the earliest
deadline, expires what is due and re-arms for the next one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


class CallDeadlines:
    def __init__(self, expire: Callable[[int], None]) -> None:
        self._expire = expire  # called on the loop thread with the id of a call that ran out of time
        self._due: dict[int, float] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf

    def add(self, call_id: int, deadline: float) -> None:
        """`deadline` in the running loop's clock (`loop.time()`)."""
        self._due[call_id] = deadline
        if deadline < self._timer_at:
            self._arm(deadline)

    def discard(self, call_id: int) -> None:
        self._due.pop(call_id, None)

    def cancel_all(self) -> None:
        self._due.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, math.inf

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().call_at(at, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, math.inf
        now = asyncio.get_running_loop().time()
        for call_id in [c for c, d in self._due.items() if d <= now + 0.001]:
            del self._due[call_id]
            self._expire(call_id)
        if self._due:
            self._arm(min(self._due.values()))
