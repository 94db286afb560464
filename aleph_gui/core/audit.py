"""Hook traces after each event: streamed to subscribers as `HookTraced`, kept in the audit log.

The executor hands over every handler call of an event at once; rows are written to `state.db`
in batches (one transaction every `FLUSH_S`), so tracing never waits on the disk.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aleph_gui.core import events as ev
from aleph_gui.core.hooks import TraceRow
from aleph_gui.core.state import StateDB, audit_row
from aleph_gui.core.trace import TraceRecord

log = logging.getLogger(__name__)

FLUSH_S = 0.5


class AuditTrail:
    def __init__(self, state: StateDB, bus: ev.ChangeBus) -> None:
        self._state = state
        self._bus = bus
        self._rows: list[tuple[Any, ...]] = []  # audit table rows, waiting for the writer

    def take(self, rows: list[TraceRow]) -> None:
        """The executor's trace sink: every handler call of one event."""
        self._rows.extend(map(audit_row, rows))  # here, a few at a time, not all at once in the writer
        if self._bus.active:
            for row in rows:
                self._bus.emit(ev.HookTraced.of(TraceRecord.of(row)))

    def flush(self) -> None:
        rows, self._rows = self._rows, []
        if rows:
            try:
                self._state.append_audit_rows(rows)
            except Exception:  # the disk may be full; tracing must never break the app
                log.exception("could not write %d hook audit rows", len(rows))

    async def flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            if self._rows:
                await asyncio.to_thread(self.flush)
