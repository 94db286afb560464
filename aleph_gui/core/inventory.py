"""What the user sees of each plugin: `DiscoveredPlugin` (a folder found on disk) and `PluginInfo`.

`PluginInfo` is built by the plugin's slot (`slot.py`), which decides its state; this module only
holds the records and their `list --json` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from aleph_gui.core.manifest.model import PluginManifest
from aleph_gui.core.problems import Problem, has_errors
from aleph_gui.core.registry import Conflict
from aleph_gui.core.review import PermissionRow
from aleph_gui.core.scope import RISK_ORDER, Scope
from aleph_gui.core.state import Grant, Identity


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

    @cached_property
    def identity(self) -> Identity:
        """Which plugin exactly (a grant is bound to this, not to the id). Worked out once: resolving
        the folder costs ~20 µs, a tenth of listing the plugin."""
        manifest = self.manifest
        return Identity(self.origin, str(self.path.resolve()), manifest.kind if manifest else "",
                        (manifest.entry or "") if manifest else "")


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
    runnable: bool = False  # may its code run now (tools, hooks)
    runnable_reason: str = ""  # when not: why, in one sentence
    permissions: list[PermissionRow] = field(default_factory=list)  # requested + granted, with approval
    trust_folder: str | None = None  # a project folder the user must trust before it runs
    approval_note: str = ""  # e.g. "its code changed since you approved it on …"

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
        """The highest risk of what it asks for, as contained on this machine (review.py)."""
        asked = [r.permission for r in self.permissions if r.requested]
        return min((p.risk for p in asked), key=lambda r: RISK_ORDER[r], default="low")

    @property
    def waiting(self) -> list[PermissionRow]:
        """Requested permissions the user has not approved yet."""
        return [r for r in self.permissions if r.waiting]

    @property
    def needs_approval(self) -> bool:
        """Does it request anything beyond writing its own log (so a review means something)?"""
        return self.origin != "builtin" and self.requested.needs_review()

    def to_json(self) -> dict[str, Any]:
        requested = self.requested
        caps = self.capabilities or [
            {"type": c.type, ("event" if c.type == "hook" else "name"): c.label, "description": c.description}
            for c in (self.manifest.capabilities if self.manifest else [])
        ]
        return {
            "id": self.id, "name": self.name, "version": self.version,
            "description": self.manifest.description if self.manifest else "",
            "format": self.format, "kind": self.kind, "origin": self.origin, "path": str(self.path),
            "state": self.state, "state_reason": self.state_reason,
            "runnable": self.runnable, "runnable_reason": self.runnable_reason,
            "trust_folder": self.trust_folder, "approval_note": self.approval_note,
            "capabilities": caps,
            "scope": {
                "requested": requested.model_dump(),
                "granted": self.grant.scope.model_dump() if self.grant else None,
                "granted_at": self.grant.granted_at if self.grant else None,
                "needs_review": self.state == "needs_review",
                "risk": self.risk,
                "permissions": [r.permission.model_dump() for r in self.permissions if r.requested],
                "pending": [r.permission.model_dump() for r in self.waiting],
                "rows": [r.to_json() for r in self.permissions],
            },
            "problems": [p.model_dump() for p in self.problems],
            "conflicts": [c.sentence() for c in self.conflicts],
            "overridden_by": self.overridden_by,
            "runtime": self.runtime,
        }
