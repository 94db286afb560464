"""Typed change events the manager delivers to the UI, the CLI (`watch --json`) and tests, and the
bus that delivers them on the manager's loop thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aleph_gui.core.trace import TraceRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeEvent:
    id: str  # plugin id ("" for manager-wide events)
    time: float = field(default_factory=time.time, kw_only=True)

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class Ready(ChangeEvent):
    """The manager finished its first discovery and load."""


@dataclass(frozen=True)
class PluginAdded(ChangeEvent):
    state: str = ""


@dataclass(frozen=True)
class PluginChanged(ChangeEvent):
    """Anything about the plugin changed (new version, capabilities, problems)."""
    version: str = ""


@dataclass(frozen=True)
class PluginRemoved(ChangeEvent):
    pass


@dataclass(frozen=True)
class StateChanged(ChangeEvent):
    state: str = ""
    previous: str = ""
    reason: str = ""


@dataclass(frozen=True)
class ReviewRequired(ChangeEvent):
    """The plugin asks for permissions not granted yet; `added` etc. are permission dicts."""
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ProblemReported(ChangeEvent):
    severity: str = "error"
    file: str = ""
    field: str = ""
    message: str = ""


@dataclass(frozen=True)
class HookTraced(ChangeEvent):
    """One handler call; `id` is the plugin. Carries the trace record (`trace.TraceRecord`)."""
    record: TraceRecord = TraceRecord(0.0, "", "", "", "", 0, "", (), "")

    @classmethod
    def of(cls, record: TraceRecord) -> HookTraced:
        return cls(record.plugin, record=record, time=record.time)

    def to_json(self) -> dict[str, Any]:
        doc = self.record.to_json()
        del doc["plugin"]
        return {"type": self.type, "id": self.id, **doc}


@dataclass(frozen=True)
class PluginLog(ChangeEvent):
    """A line on the plugin's own log channel (its logs and stderr)."""
    level: str = "info"
    message: str = ""


class ChangeBus:
    """Subscribers are called on the loop thread the manager runs on (the Qt main thread in the
    window), whichever thread emits: runtime callbacks from worker threads (WASM host functions,
    call counters) hop over with `call_soon_threadsafe`. Before `bind` (a headless manager with no
    loop) events are delivered at once."""

    def __init__(self) -> None:
        self._subscribers: tuple[Callable[[ChangeEvent], None], ...] = ()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread = threading.get_ident()

    def subscribe(self, callback: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        self._subscribers = (*self._subscribers, callback)

        def undo() -> None:
            self._subscribers = tuple(c for c in self._subscribers if c is not callback)

        return undo

    @property
    def active(self) -> bool:
        return bool(self._subscribers)

    def on_loop(self, fn: Callable[..., None]) -> Callable[..., None]:
        """`fn` wrapped so that it always runs on the loop thread (called at once when already there)."""

        def call(*args: Any) -> None:
            loop = self._loop
            if loop is None or threading.get_ident() == self._thread:
                fn(*args)
                return
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # the loop is closed: the app is shutting down
                log.debug("dropped a late callback %s", getattr(fn, "__name__", fn))

        return call

    def emit(self, event: ChangeEvent) -> None:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._thread:
            self.on_loop(self._deliver)(event)
        else:
            self._deliver(event)

    def _deliver(self, event: ChangeEvent) -> None:
        for callback in self._subscribers:
            try:
                callback(event)
            except Exception:  # a broken subscriber must not stop the others
                log.exception("change subscriber failed on %s", event.type)
