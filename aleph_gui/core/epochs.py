"""Events in flight per handler-set epoch, so a retired plugin version is stopped only after every
event that could have picked its handlers has finished (each event is handled entirely by the old or
entirely by the new version)."""

from __future__ import annotations

import asyncio
from collections import Counter

DRAIN_TIMEOUT_S = 35.0


class EventEpochs:
    def __init__(self) -> None:
        self._epoch = 0
        self._in_flight: Counter[int] = Counter()

    def advance(self) -> int:
        """A swap of handlers happened: returns the epoch every earlier event belongs to."""
        swapped, self._epoch = self._epoch, self._epoch + 1
        return swapped

    def enter(self) -> int:
        """An event starts (on the hot path of every event: two dict updates, no coroutine)."""
        epoch = self._epoch
        self._in_flight[epoch] += 1
        return epoch

    def leave(self, epoch: int) -> None:
        self._in_flight[epoch] -= 1
        if not self._in_flight[epoch]:
            del self._in_flight[epoch]

    async def drained(self, up_to: int, timeout: float = DRAIN_TIMEOUT_S) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(e <= up_to for e in self._in_flight) and loop.time() < deadline:
            await asyncio.sleep(0.005)
