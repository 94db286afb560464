"""How many times a plugin process may crash before the plugin is marked crashed, and how long to wait
before starting it again: the 4th crash within 5 minutes is one too many; restarts back off 0.25 s, 0.5 s,
1 s."""

from __future__ import annotations

import time
from collections import deque

CRASH_WINDOW_S = 300.0
MAX_CRASHES = 3  # tolerated within CRASH_WINDOW_S; one more marks the plugin crashed
RESTART_BACKOFF_S = 0.25


class CrashBudget:
    def __init__(self, backoff_s: float = RESTART_BACKOFF_S) -> None:
        self.backoff_s = backoff_s
        self.total = 0
        self.exhausted: str | None = None  # why the plugin is crashed, once it is
        self._times: deque[float] = deque()
        self._not_before = 0.0  # no start before this monotonic time

    def record(self, reason: str) -> bool:
        """Count a crash; True when that was one too many (`exhausted` then says so in one sentence)."""
        now = time.monotonic()
        self.total += 1
        self._times.append(now)
        while self._times and now - self._times[0] > CRASH_WINDOW_S:
            self._times.popleft()
        count = len(self._times)
        if count > MAX_CRASHES:
            self.exhausted = (f"crashed {count} times within {CRASH_WINDOW_S / 60:g} minutes "
                              f"(last: {reason}); reload or enable it again to retry")
            return True
        self._not_before = now + self.backoff_s * 2 ** (count - 1)
        return False

    def wait_s(self) -> float:
        """How long to wait before the next start (0 when it may start now)."""
        return max(0.0, self._not_before - time.monotonic())
