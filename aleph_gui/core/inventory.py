"""What the user sees of each plugin: `PluginInfo`, and how its state word is decided.

Pure functions over discovery results + saved state, shared by the CLI (`list` never loads
plugin code) and the ExtensionManager (which adds runtime states: failed, crashed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aleph_gui.core.manifest.model import PluginManifest
from aleph_gui.core.problems import Problem, has_errors
from aleph_gui.core.registry import Conflict
from aleph_gui.core.scope import RISK_ORDER, Scope, diff_scopes, is_covered, risk_of
from aleph_gui.core.state import Grant, StateDB, StateSnapshot


@dataclass
class DiscoveredPlugin:
    """One plugin folder found on disk, parsed (or not)."""

    id: str
    path: Path
    origin: str  # project | user | builtin
    manifest: PluginManifest | None
    problems: list[Problem] = field(default_factory=list)
    format: str | None = None
    manifest_file: str | None = None

    @property
    def valid(self) -> bool:
        return self.manifest is not None and not has_errors(self.problems)


@dataclass
class PluginInfo:
    id: str
    path: Path
    origin: str
    state: str
    state_reason: str = ""
    manifest: PluginManifest | None = None
    problems: list[Problem] = field(default_factory=list)
    format: str | None = None
    grant: Grant | None = None
    overridden_by: str | None = None  # origin of the active plugin with the same id
    conflicts: list[Conflict] = field(default_factory=list)
    capabilities: list[dict[str, Any]] = field(default_factory=list)
    runtime: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else self.id

    @property
    def version(self) -> str:
        return self.manifest.version if self.manifest else ""

    @property
    def kind(self) -> str:
        return self.manifest.kind if self.manifest else "static"

    @property
    def requested(self) -> Scope:
        return self.manifest.scope if self.manifest else Scope()

    @property
    def risk(self) -> str:
        return risk_of(self.requested)

    def to_json(self) -> dict[str, Any]:
        requested = self.requested
        perms = requested.permissions()  # once: this runs for every plugin of `list --json`
        if self.grant is not None:
            pending = diff_scopes(self.grant.scope, requested).added
        else:
            pending = [p for p in perms if p.key != "api:log"]
        caps = self.capabilities or [
            {"type": c.type, ("event" if c.type == "hook" else "name"): c.label, "description": c.description}
            for c in (self.manifest.capabilities if self.manifest else [])
        ]
        return {
            "id": self.id, "name": self.name, "version": self.version,
            "description": self.manifest.description if self.manifest else "",
            "format": self.format, "kind": self.kind, "origin": self.origin, "path": str(self.path),
            "state": self.state, "state_reason": self.state_reason,
            "capabilities": caps,
            "scope": {
                "requested": requested.model_dump(),
                "granted": self.grant.scope.model_dump() if self.grant else None,
                "granted_at": self.grant.granted_at if self.grant else None,
                "needs_review": self.state == "needs_review",
                "risk": min((p.risk for p in perms), key=lambda r: RISK_ORDER[r], default="low"),
                "permissions": [p.model_dump() for p in perms],
                "pending": [p.model_dump() for p in pending],
            },
            "problems": [p.model_dump() for p in self.problems],
            "conflicts": [c.sentence() for c in self.conflicts],
            "overridden_by": self.overridden_by,
            "runtime": self.runtime,
        }


def review_needed(manifest: PluginManifest, origin: str, grant: Grant | None) -> bool:
    """Builtin plugins are pre-approved; others need a grant covering what they request."""
    if origin == "builtin" or not manifest.scope.needs_review():
        return False
    return not is_covered(grant.scope if grant else None, manifest.scope)


def decide_state(found: DiscoveredPlugin, state: StateDB | StateSnapshot, *, overridden_by: str | None = None,
                 safe_mode: bool = False) -> tuple[str, str]:
    """The state word and its reason, before any runtime has run."""
    if found.manifest is None or has_errors(found.problems):
        first = next((p for p in found.problems if p.severity == "error"), None)
        return "invalid", first.sentence() if first else "the manifest could not be read"
    if overridden_by:
        return "overridden", f"a {overridden_by} plugin with the same id is active"
    if state.enabled(found.id) is False:
        return "disabled", "turned off by you"
    if safe_mode and found.origin != "builtin":
        return "disabled", "safe mode: only builtin plugins run"
    if review_needed(found.manifest, found.origin, state.grant(found.id)):
        return "needs_review", f"review its permissions first (aleph-ext grant {found.id})"
    return "enabled", ""


def build_inventory(found: list[DiscoveredPlugin], state: StateDB, *, safe_mode: bool = False) -> list[PluginInfo]:
    """Resolve precedence (project > user > builtin) and decide each plugin's state."""
    from aleph_gui.core.manifest.model import ORIGIN_RANK

    view = state.snapshot()
    active: dict[str, DiscoveredPlugin] = {}
    for f in sorted(found, key=lambda f: ORIGIN_RANK.get(f.origin, 9)):
        active.setdefault(f.id, f)
    infos: list[PluginInfo] = []
    for f in found:
        winner = active[f.id]
        overridden_by = winner.origin if winner is not f else None
        grant = view.grant(f.id)
        word, reason = decide_state(f, view, overridden_by=overridden_by, safe_mode=safe_mode)
        infos.append(PluginInfo(id=f.id, path=f.path, origin=f.origin, state=word, state_reason=reason,
                                manifest=f.manifest, problems=list(f.problems), format=f.format,
                                grant=grant, overridden_by=overridden_by))
    return infos
