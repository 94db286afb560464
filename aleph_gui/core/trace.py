"""One hook handler call, in one shape: `TraceRecord`, and its one JSON form.

The executor's hot path appends plain tuples laid out exactly like a `TraceRecord` (a tuple append
costs a fraction of building a named tuple); `TraceRecord.of(row)` views such a tuple as a record.
The same record is what `fire --json` prints, what `HookTraced` carries to the live log, what the
audit log stores and what `aleph-ext log` reads back.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class TraceRecord(NamedTuple):
    time: float  # unix seconds
    event: str
    plugin: str
    handler: str
    decision: str  # continue | intercept | block | skipped
    duration_ns: int
    error: str
    modified_keys: tuple[str, ...]
    client: str  # who asked: "window", "cli", an agent's name; "" = the app itself

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> TraceRecord:
        return row if isinstance(row, TraceRecord) else cls._make(row)

    @property
    def duration_us(self) -> int:
        return self.duration_ns // 1000

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "event": self.event, "plugin": self.plugin, "handler": self.handler,
                "decision": self.decision, "duration_us": self.duration_us, "error": self.error,
                "modified_keys": list(self.modified_keys), "client": self.client}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TraceRecord:
        return cls(float(doc.get("time", 0.0)), str(doc.get("event", "")), str(doc.get("plugin", "")),
                   str(doc.get("handler", "")), str(doc.get("decision", "")),
                   int(doc.get("duration_us", 0)) * 1000, str(doc.get("error") or ""),
                   tuple(doc.get("modified_keys") or ()), str(doc.get("client") or ""))
