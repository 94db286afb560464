"""One registry of everything plugins provide, each entry tagged with its owning plugin.

Every `register` returns its own undo (CONVENTIONS.md), and `unregister_plugin` removes all of a
plugin's entries at once. Name clashes between plugins are recorded as conflicts, never overwritten.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aleph_gui.core.manifest.model import CAPABILITY_TYPES, Capability, PluginManifest

Undo = Callable[[], None]


class Disposables:
    """The undos of one running plugin version, in one list (npe2's PluginContext idea): its registry
    entries, its hook handlers and what its running code registered. `dispose()` runs them all, once.

    `add` returns a handle that runs its undo at most once and forgets it, so a runtime that withdraws
    one registration early and the final dispose never undo the same thing twice. After `dispose`,
    anything added (a retired version's code registering late) is undone at once.
    """

    def __init__(self) -> None:
        self._handles: list[Undo] = []
        self.closed = False

    def add(self, undo: Undo) -> Undo:
        if self.closed:
            undo()
            return lambda: None
        done = False

        def handle() -> None:
            nonlocal done
            if done:
                return
            done = True
            self._handles.remove(handle)
            undo()

        self._handles.append(handle)
        return handle

    def dispose(self) -> None:
        self.closed = True
        for handle in reversed(list(self._handles)):
            handle()

# Kinds whose names must be unique across plugins (hooks share events by design).
UNIQUE_KINDS = frozenset(CAPABILITY_TYPES) - {"hook"}


@dataclass
class Registration:
    kind: str
    name: str  # for hooks: the event
    plugin_id: str
    capability: Capability
    source: str = "manifest"  # "manifest" or "runtime" (registered by running code)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        key = "event" if self.kind == "hook" else "name"
        return {"type": self.kind, key: self.name, "description": self.capability.description,
                "source": self.source}


@dataclass
class Conflict:
    kind: str
    name: str
    winner: str  # plugin that registered first and keeps the name
    loser: str

    def sentence(self) -> str:
        if self.kind == "http_route":  # routes are served under each plugin's own prefix: both answer
            return (f"HTTP route '{self.name}' is provided by both '{self.winner}' and '{self.loser}'; each is "
                    f"served under its own plugin (/plugins/{self.winner}/…, /plugins/{self.loser}/…)")
        return (f"{self.kind} '{self.name}' is provided by both '{self.winner}' and '{self.loser}'; "
                f"'{self.winner}' keeps the name")


class PluginRegistry:
    """Thread-safe: the runtimes may register from executor threads."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: list[Registration] = []
        self._by_plugin: dict[str, list[Registration]] = {}  # index: the UI asks per plugin, often
        # (kind, name) -> registrations in order, so owner() is not a scan of every entry
        self._by_key: dict[tuple[str, str], list[Registration]] = {}
        self._conflicts: list[Conflict] = []
        self._listeners: list[Callable[[str], None]] = []

    # -- writing ---------------------------------------------------------------
    def register(self, plugin_id: str, capability: Capability, source: str = "manifest",
                 **extra: Any) -> Undo:
        kind, name = capability.type, capability.label
        reg = Registration(kind, name, plugin_id, capability, source, dict(extra))
        with self._lock:
            if kind in UNIQUE_KINDS:
                owner = self.owner(kind, name)
                if owner is not None and owner != plugin_id:
                    conflict = Conflict(kind, name, owner, plugin_id)
                    if conflict not in self._conflicts:
                        self._conflicts.append(conflict)
                    reg.extra["shadowed_by"] = owner
            self._entries.append(reg)
            self._by_key.setdefault((kind, name), []).append(reg)
            self._by_plugin.setdefault(plugin_id, []).append(reg)
        self._notify(plugin_id)

        def undo() -> None:
            with self._lock:
                if reg in self._entries:
                    self._entries.remove(reg)
                    self._by_plugin[plugin_id].remove(reg)  # present while the entry is
                    self._by_key[(kind, name)].remove(reg)
                self._drop_stale_conflicts()
            self._notify(plugin_id)

        return undo

    def register_manifest(self, manifest: PluginManifest) -> Undo:
        """Register a plugin's static capabilities; the undo removes exactly those."""
        undos = [self.register(manifest.id, cap) for cap in manifest.capabilities]

        def undo_all() -> None:
            for u in reversed(undos):
                u()

        return undo_all

    def unregister_plugin(self, plugin_id: str) -> int:
        """Remove every entry of a plugin atomically; returns how many were removed."""
        with self._lock:
            before = len(self._entries)
            self._entries = [r for r in self._entries if r.plugin_id != plugin_id]
            self._by_plugin.pop(plugin_id, None)
            removed = before - len(self._entries)
            if removed:
                self._by_key = {}
                for r in self._entries:
                    self._by_key.setdefault((r.kind, r.name), []).append(r)
            self._drop_stale_conflicts()
        if removed:
            self._notify(plugin_id)
        return removed

    def _drop_stale_conflicts(self) -> None:
        alive = {(r.kind, r.name, r.plugin_id) for r in self._entries}
        self._conflicts = [c for c in self._conflicts
                           if (c.kind, c.name, c.winner) in alive and (c.kind, c.name, c.loser) in alive]
        # Entries whose winner left now own the name.
        for r in self._entries:
            if "shadowed_by" in r.extra and (r.kind, r.name, r.extra["shadowed_by"]) not in alive:
                del r.extra["shadowed_by"]

    # -- reading ---------------------------------------------------------------
    def owner(self, kind: str, name: str) -> str | None:
        with self._lock:
            for r in self._by_key.get((kind, name), ()):
                if "shadowed_by" not in r.extra:
                    return r.plugin_id
        return None

    def entries(self, kind: str | None = None, plugin_id: str | None = None) -> list[Registration]:
        with self._lock:
            pool = self._entries if plugin_id is None else self._by_plugin.get(plugin_id, [])
            return [r for r in pool if kind is None or r.kind == kind]

    def hooks_for(self, event: str) -> list[Registration]:
        with self._lock:
            return [r for r in self._entries if r.kind == "hook" and r.name == event]

    def conflicts(self, plugin_id: str | None = None) -> list[Conflict]:
        with self._lock:
            return [c for c in self._conflicts if plugin_id in (None, c.winner, c.loser)]

    def subscribe(self, listener: Callable[[str], None]) -> Undo:
        """Called with the plugin id whenever that plugin's entries change."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, plugin_id: str) -> None:
        for listener in list(self._listeners):
            listener(plugin_id)
