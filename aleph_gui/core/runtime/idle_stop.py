"""Stopping a plugin's process after a while without calls: one timer, re-armed while the plugin is busy
(a call in flight, a service running) or was used since it was armed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class IdleStop:
    def __init__(self, idle_s: float, *, busy: Callable[[], bool], stop: Callable[[], None]) -> None:
        self.idle_s = idle_s
        self._busy = busy
        self._stop = stop
        self._timer: asyncio.TimerHandle | None = None
        self._last_use = time.monotonic()

    def touch(self) -> None:
        """The plugin was used now (on the loop thread)."""
        self._last_use = time.monotonic()
        if self._timer is None and self.idle_s > 0:
            self._timer = asyncio.get_running_loop().call_later(self.idle_s, self._check)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        remaining = self._last_use + self.idle_s - time.monotonic()
        busy = self._busy()
        if busy or remaining > 0:
            self._timer = asyncio.get_running_loop().call_later(
                self.idle_s if busy else max(remaining, 1.0), self._check)
            return
        self._stop()
