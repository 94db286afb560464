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
  needs_review  a project plugin whose folder is not trusted yet;          trust
                asks for more than was approved, or the approval was for     grant / deny
                another identity (folder, kind, entry) or for replaced code;
                when an update asks, the approved version keeps running
  failed        the runtime gave up after repeated faults                enable / reload
  crashed       the process crashed too often                            enable / reload
  enabled       may run
`overridden` is not a slot state: it is the word for the copies a slot shadows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aleph_gui.core.events import PluginLog
from aleph_gui.core.inventory import DiscoveredPlugin, PluginInfo
from aleph_gui.core.registry import PluginRegistry, Undo
from aleph_gui.core.review import permission_rows
from aleph_gui.core.scope import Scope, ScopeDiff, diff_scopes, is_covered
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
    """A newer version on disk that the approval does not cover; it waits for the review."""

    found: DiscoveredPlugin
    diff: ScopeDiff
    reason: str  # why the approval does not cover it

    @property
    def why(self) -> str:
        added = ", ".join(p.text for p in self.diff.added)
        parts = [f"asks for more ({added})"] if added else []
        if not self.reason.startswith("review its permissions first"):  # an identity change says why itself
            parts.append(f"needs your review: {self.reason}")
        return " and ".join(parts) or "needs your review"


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
    trust_folder: str | None = None  # project plugins: the project folder that must be trusted
    trusted: bool = True  # whether that folder is trusted
    code_digest: str | None = None  # of the files on disk, when checked (at load, or `inspect`)
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

    def approval_problem(self, found: DiscoveredPlugin | None = None) -> str | None:
        """Why the saved approval does not cover this version (default: the listed one), or None.

        A grant belongs to an identity — origin, resolved folder, kind, entry — not to an id string."""
        found = found or self.found
        manifest = found.manifest
        assert manifest is not None
        if found.origin == "builtin" or not manifest.scope.needs_review():
            return None
        grant, again = self.grant, f"review it again (aleph-ext grant {found.id})"
        if grant is None:
            return f"review its permissions first (aleph-ext grant {found.id})"
        if grant.review_reason:
            return f"{grant.review_reason}; {again}"
        was, now = grant.identity, found.identity
        if not was.origin:
            return f"it was approved by an earlier version of this app that did not record which plugin folder; {again}"
        if (was.origin, was.folder) != (now.origin, now.folder):
            return (f"your approval was for the {was.origin} plugin in {was.folder}, not for this {now.origin} "
                    f"plugin in {now.folder}; {again}")
        if was.kind != now.kind:
            return (f"it changed from a {was.kind} plugin to a {now.kind} plugin since you approved it, which "
                    f"changes what enforces its permissions; {again}")
        if was.entry != now.entry:
            return f"its code entry changed from '{was.entry}' to '{now.entry}' since you approved it; {again}"
        if not is_covered(grant.scope, manifest.scope):
            return f"review its permissions first (aleph-ext grant {found.id})"
        return None

    def granted_scope(self, found: DiscoveredPlugin) -> Scope:
        """The scope a version's runtime enforces: exactly what was approved, never more than requested now."""
        manifest = found.manifest
        assert manifest is not None
        if self.approval_problem(found) is None:
            return manifest.scope
        return self.grant.scope if self.grant is not None else Scope()

    def approval_note(self) -> str:
        """What the user should know about a valid approval (the code changed since, ...)."""
        grant = self.grant
        if grant is None or not grant.code_digest or self.code_digest is None or self.preapproved:
            return ""
        if grant.code_digest != self.code_digest:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(grant.granted_at))
            return f"its code changed since you approved it on {when}"
        return ""

    def review_diff(self) -> ScopeDiff | None:
        """What waits for the user's approval, or None (also None while the project is untrusted)."""
        if self.pending is not None:
            return self.pending.diff
        if self.trust_folder is not None and not self.trusted:
            return None
        if self.state == "needs_review" and self.found.manifest is not None:

            return diff_scopes(self.grant.scope if self.grant else None, self.found.manifest.scope)
        return None

    # -- the state machine --------------------------------------------------------------------
    def decide(self, *, safe_mode: bool) -> Decision:
        found = self.found
        manifest = found.manifest
        if manifest is None or not found.valid:
            return _off("invalid", _invalid_reason(found))
        if self.enabled_flag is False:
            return _off("disabled", "turned off by you")
        if safe_mode and not self.preapproved:
            return _off("disabled", "safe mode: only builtin plugins run")
        if self.trust_folder is not None and not self.trusted:
            reason = (f"plugins of the project folder {self.trust_folder} do not run until you trust that "
                      "folder (aleph-ext trust)")
            return Decision("needs_review", reason, why_not=reason)
        if self.pending is not None and self.version is not None:
            return Decision("needs_review", f"an update {self.pending.why}; the previous version keeps "
                                            "running until you review it", runnable=True)
        problem = self.approval_problem()
        if problem is not None:
            return Decision("needs_review", problem, why_not=f"it is not approved: {problem}")
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
        info = PluginInfo(
            id=found.id, path=found.path, origin=found.origin, state=decision.state, state_reason=decision.reason,
            manifest=manifest, problems=list(self.broken.problems if self.broken else found.problems),
            format=found.format, grant=self.grant, runnable=decision.runnable,
            runnable_reason=decision.why_not if not decision.runnable else "",
            permissions=permission_rows(manifest.kind if manifest else "static", requested, self.grant.scope if self.grant else None,
                                        preapproved=self.preapproved),
            trust_folder=self.trust_folder if not self.trusted else None,
            approval_note=self.approval_note(),
        )
        if registry is not None:
            info.conflicts = registry.conflicts(found.id)
            if self.version is not None:
                info.capabilities = [r.to_json() for r in registry.entries(plugin_id=found.id)]
        if self.version is not None:
            runtime, mcp = self.version.runtime, self.version.mcp
            info.runtime = {"loaded": True, **(runtime.status() if runtime is not None else {})}
            if mcp is not None:
                info.runtime["mcp"] = mcp.status()
        return info

    def shadow_info(self, entry: DiscoveredPlugin) -> PluginInfo:
        """A copy of this id that the active one overrides."""
        manifest = entry.manifest
        state, reason = "overridden", f"a {self.found.origin} plugin with the same id is active"
        if not entry.valid:
            state, reason = "invalid", _invalid_reason(entry)
        return PluginInfo(id=entry.id, path=entry.path, origin=entry.origin, state=state, state_reason=reason,
                          manifest=manifest, problems=list(entry.problems), format=entry.format,
                          overridden_by=self.found.origin, runnable=False,
                          runnable_reason=f"it is overridden by the {self.found.origin} plugin with the same id")

    def log_line(self, level: str, message: str) -> PluginLog:
        line = PluginLog(self.id, level=level, message=message)
        self.logs.append(line)
        return line


def _invalid_reason(found: DiscoveredPlugin) -> str:
    first = next((p for p in found.problems if p.severity == "error"), None)
    return first.sentence() if first else "the manifest could not be read"


def _off(state: str, reason: str) -> Decision:
    return Decision(state, reason, runnable=False, why_not=f"it is {state} ({reason})")
