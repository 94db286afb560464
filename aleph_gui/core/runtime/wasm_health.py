"""How a WASM runtime's calls are going: counts for the UI, and the switch that turns it off.

A fault (timeout, trap, running out of memory, a missing export, a bad hook answer) counts toward
`failed`: `FAILURES_BEFORE_FAILED` in a row and the plugin stays off until it is reloaded. An error
the plugin answers itself (`error_set`) or a request the sandbox refused is reported but is not a
fault: the plugin is working.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aleph_gui.core.errors import AlephError, PluginFailed

FAILURES_BEFORE_FAILED = 5


class CallHealth:
    def __init__(self, plugin_id: str, log: Callable[[str, str], None],
                 report_state: Callable[[str, str], None]) -> None:
        self.plugin_id = plugin_id
        self._log = log
        self._report_state = report_state
        self._lock = threading.Lock()
        self.calls = 0
        self.failures = 0
        self.timeouts = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.failed: str | None = None  # why it was switched off

    def check(self) -> None:
        """Raise when the plugin was switched off."""
        if self.failed is not None:
            raise PluginFailed(self.plugin_id, f"failed {FAILURES_BEFORE_FAILED} calls in a row and stays off "
                                               f"until it is reloaded (last error: {self.failed})")

    def ok(self) -> None:
        with self._lock:
            self.calls += 1
            self.consecutive_failures = 0

    def timed_out(self) -> None:
        with self._lock:
            self.timeouts += 1

    def refusal(self, err: AlephError) -> None:
        """The plugin answered with an error of its own (or was refused): reported, but it works."""
        with self._lock:
            self.calls += 1
            self.consecutive_failures = 0
            self.last_error = str(err)
        self._log("warning", err.message)

    def failure(self, err: AlephError) -> None:
        with self._lock:
            self.calls += 1
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = str(err)
            just_failed = self.consecutive_failures >= FAILURES_BEFORE_FAILED and self.failed is None
            if just_failed:
                self.failed = err.message
        self._log("error", err.message)
        if just_failed:
            self._report_state("failed", err.message)
