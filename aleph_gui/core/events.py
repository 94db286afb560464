"""Typed change events the manager delivers to the UI, the CLI (`watch --json`) and tests."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


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
    """One handler call; `id` is the plugin. Mirrors a trace record."""
    event: str = ""
    handler: str = ""
    decision: str = ""
    duration_us: int = 0
    error: str | None = None
    modified_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PluginLog(ChangeEvent):
    """A line on the plugin's own log channel (its logs and stderr)."""
    level: str = "info"
    message: str = ""
