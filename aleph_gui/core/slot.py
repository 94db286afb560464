"""One slot per plugin id: everything about one plugin's life, and the one place its state is decided.

The manager keeps a `PluginSlot` per id (npe2's PluginContext idea): the version on disk that is
listed, the copies of the same id it shadows, the running version with its one list of
disposables, a runtime fault, an update waiting for review, a broken update, the plugin's log and
its lock. `decide()` turns those facts plus the saved flags and grant into the state word and
whether code may run; the UI, the CLI and the manager read `slot.state` / `slot.runnable` and never
recompute them.

States (and what moves a slot between them):
  invalid       the manifest on disk cannot be used                      fix it (reload)
  disabled      turned off by the user, or safe mode (builtin excepted)  enable / safe mode off
  needs_review  asks for more than was approved; when an update asks,    grant / deny
                the approved version keeps running (runnable)
  failed        the runtime gave up after repeated faults                enable / reload
  crashed       the process crashed too often                            enable / reload
  enabled       may run
`overridden` is not a slot state: it is the word for the copies a slot shadows.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aleph_gui.core.events import PluginLog
from aleph_gui.core.inventory import DiscoveredPlugin, PluginInfo
from aleph_gui.core.registry import PluginRegistry, Undo
from aleph_gui.core.review import permission_rows, review_needed
from aleph_gui.core.scope import Scope, ScopeDiff
from aleph_gui.core.state import Grant

if TYPE_CHECKING:
    from aleph_gui.core.loader import LoadedPlugin

LOG_LINES_KEPT = 2000


@dataclass(frozen=True)
class Decision:
    state: str
    reason: str = ""
    runnable: bool = False
    why_not: str = ""  # when not runnable: the sentence a refused call gets


@dataclass
class PendingUpdate:
    """A newer version on disk that asks for more than was approved; it waits for the review."""

    found: DiscoveredPlugin
    diff: ScopeDiff


@dataclass
class PluginSlot:
    found: DiscoveredPlugin  # the listed (active) version on disk
    shadowed: list[DiscoveredPlugin] = field(default_factory=list)  # same id, lower origin
    version: LoadedPlugin | None = None  # the running version
    fault: tuple[str, str] | None = None  # ("failed" | "crashed", reason) reported by the runtime
    pending: PendingUpdate | None = None
    broken: DiscoveredPlugin | None = None  # a newer version on disk that is broken
    grant: Grant | None = None
    enabled_flag: bool | None = None  # the saved toggle; None = never toggled
    declared: Undo | None = None  # headless manager: its declared capabilities, listed without code
    decision: Decision = field(default_factory=lambda: Decision("enabled", runnable=True))
    logs: deque[PluginLog] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def id(self) -> str:
        return self.found.id

    @property
    def state(self) -> str:
        return self.decision.state

    @property
    def runnable(self) -> bool:
        return self.decision.runnable

    @property
    def preapproved(self) -> bool:
        return self.found.origin == "builtin"

    @property
    def requested(self) -> Scope:
        """What the newest version on disk asks for (an update waiting for review included)."""
        newest = self.pending.found if self.pending is not None else self.found
        return newest.manifest.scope if newest.manifest is not None else Scope()

    def granted_scope(self) -> Scope:
        """The scope the runtime enforces: exactly what was approved, never more than requested now."""
        manifest = self.found.manifest
        assert manifest is not None
        if self.preapproved:
            return manifest.scope
        granted = self.grant.scope if self.grant is not None else Scope()
        return manifest.scope if not review_needed(manifest.scope, granted, preapproved=False) else granted

    def review_diff(self) -> ScopeDiff | None:
        """What waits for the user's approval, or None."""
        if self.pending is not None:
            return self.pending.diff
        if self.state == "needs_review" and self.found.manifest is not None:
            from aleph_gui.core.scope import diff_scopes

            return diff_scopes(self.grant.scope if self.grant else None, self.found.manifest.scope)
        return None

    # -- the state machine --------------------------------------------------------------------
    def decide(self, *, safe_mode: bool) -> Decision:
        found = self.found
        manifest = found.manifest
        if manifest is None or not found.valid:
            first = next((p for p in found.problems if p.severity == "error"), None)
            return _off("invalid", first.sentence() if first else "the manifest could not be read")
        if self.enabled_flag is False:
            return _off("disabled", "turned off by you")
        if safe_mode and not self.preapproved:
            return _off("disabled", "safe mode: only builtin plugins run")
        if self.pending is not None and self.version is not None:
            added = ", ".join(p.text for p in self.pending.diff.added)
            return Decision("needs_review", f"an update asks for more ({added}); the previous version keeps "
                                            "running until you review it", runnable=True)
        if review_needed(manifest.scope, self.grant.scope if self.grant else None, preapproved=self.preapproved):
            return Decision("needs_review", f"review its permissions first (aleph-ext grant {self.id})",
                            why_not="its permissions have not been approved; review them first "
                                    f"(aleph-ext grant {self.id})")
        if self.fault is not None:
            return _off(*self.fault)
        if self.broken is not None:
            return Decision("enabled", "the new version on disk is broken; the previous version keeps running",
                            runnable=True)
        return Decision("enabled", runnable=True)

    def settle(self, *, safe_mode: bool) -> tuple[Decision, Decision]:
        """Recompute the decision; returns (before, after)."""
        before, self.decision = self.decision, self.decide(safe_mode=safe_mode)
        return before, self.decision

    # -- what the user sees -------------------------------------------------------------------
    def info(self, registry: PluginRegistry | None = None) -> PluginInfo:
        found, decision = self.found, self.decision
        manifest = found.manifest
        requested = manifest.scope if manifest is not None else Scope()
        perms = requested.permissions()
        info = PluginInfo(
            id=found.id, path=found.path, origin=found.origin, state=decision.state, state_reason=decision.reason,
            manifest=manifest, problems=list(self.broken.problems if self.broken else found.problems),
            format=found.format, grant=self.grant, runnable=decision.runnable,
            runnable_reason=decision.why_not if not decision.runnable else "",
            permissions=permission_rows(manifest.kind if manifest else "static", requested, self.grant.scope if self.grant else None,
                                        preapproved=self.preapproved, requested_perms=perms),
            requested_permissions=perms,
        )
        if registry is not None:
            info.conflicts = registry.conflicts(found.id)
            if self.version is not None:
                info.capabilities = [r.to_json() for r in registry.entries(plugin_id=found.id)]
        if self.version is not None:
            runtime = self.version.runtime
            info.runtime = {"loaded": True, **(runtime.status() if runtime is not None else {})}
        return info

    def shadow_info(self, entry: DiscoveredPlugin) -> PluginInfo:
        """A copy of this id that the active one overrides."""
        manifest = entry.manifest
        state, reason = "overridden", f"a {self.found.origin} plugin with the same id is active"
        if not entry.valid:
            first = next((p for p in entry.problems if p.severity == "error"), None)
            state, reason = "invalid", first.sentence() if first else "the manifest could not be read"
        return PluginInfo(id=entry.id, path=entry.path, origin=entry.origin, state=state, state_reason=reason,
                          manifest=manifest, problems=list(entry.problems), format=entry.format,
                          overridden_by=self.found.origin, runnable=False,
                          runnable_reason=f"it is overridden by the {self.found.origin} plugin with the same id")

    def log_line(self, level: str, message: str) -> PluginLog:
        line = PluginLog(self.id, level=level, message=message)
        self.logs.append(line)
        return line


def _off(state: str, reason: str) -> Decision:
    return Decision(state, reason, runnable=False, why_not=f"it is {state} ({reason})")
