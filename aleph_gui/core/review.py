"""What the permission review shows: each permission, whether it is approved, and what enforces it.

The UI and the CLI render these typed rows; they never parse permission keys or match words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aleph_gui.core.scope import RISK_ORDER, Permission, Scope, covers, is_covered


class Enforcement(StrEnum):
    """Who stands behind a permission's limit on this machine."""

    ENFORCED = "enforced"  # the sandbox or the app refuses anything beyond it
    NOT_ENFORCED = "not_enforced"  # the code could do more than the grant says
    DECLARED_ONLY = "declared_only"  # no code of this plugin runs in a sandbox
    RUNS_AS_YOU = "runs_as_you"  # programs run with the user's own rights


# What each runtime enforces, per permission family: (how, sentence). `shell` is never listed here:
# whatever the kind, a granted `shell` means programs (command hooks, stdio MCP servers, a Node
# plugin's child processes) run with the user's own rights until the OS sandbox of issue 13 lands.
_BY_KIND: dict[str, dict[str, tuple[Enforcement, str]]] = {
    "wasm": {
        "api": (Enforcement.ENFORCED, "enforced (host functions withheld)"),
        "file": (Enforcement.ENFORCED, "enforced (WASI allowed paths)"),
        "net": (Enforcement.ENFORCED, "enforced (Extism allowed hosts)"),
    },
    "nodejs": {
        "api": (Enforcement.ENFORCED, "enforced (host API checked by the app)"),
        # Node's permission model follows symbolic links out of a granted folder (issue 13, finding 4).
        "file": (Enforcement.NOT_ENFORCED, "partly enforced: Node.js's permission model limits paths but "
                                           "follows symbolic links out of them"),
        "net": (Enforcement.NOT_ENFORCED, "not enforced for Node.js plugins"),
        "process": (Enforcement.NOT_ENFORCED, "not sandboxed yet: Node.js's permission model limits its files "
                                              "and child processes, not its network or signals to your "
                                              "other programs"),
    },
}
_RUNS_AS_YOU = (Enforcement.RUNS_AS_YOU, "not sandboxed: runs as you")
_DECLARED_ONLY = (Enforcement.DECLARED_ONLY, "declared only (no code of this plugin runs in a sandbox)")


def enforcement(kind: str, permission_key: str) -> tuple[Enforcement, str]:
    """How a permission is enforced for a plugin of this kind: the typed answer and its sentence."""
    family = permission_key.split(":", 1)[0]
    if family == "shell":
        return _RUNS_AS_YOU
    by_kind = _BY_KIND.get(kind)
    if by_kind is None:
        return _DECLARED_ONLY
    return by_kind.get(family, (Enforcement.DECLARED_ONLY, "declared only"))


@dataclass(frozen=True)
class PermissionRow:
    """One line of the review: requested and/or granted, approved or waiting, and its enforcement."""

    permission: Permission
    requested: bool  # False: approved once, no longer asked for
    approved: bool
    enforcement: Enforcement
    sentence: str  # how it is enforced, in words

    @property
    def key(self) -> str:
        return self.permission.key

    @property
    def waiting(self) -> bool:
        return self.requested and not self.approved

    def to_json(self) -> dict[str, Any]:
        return {**self.permission.model_dump(), "requested": self.requested, "approved": self.approved,
                "enforcement": self.enforcement.value, "enforcement_text": self.sentence}


def review_needed(requested: Scope, granted: Scope | None, *, preapproved: bool) -> bool:
    """Builtin plugins are pre-approved; others need a grant covering what they request."""
    if preapproved or not requested.needs_review():
        return False
    return not is_covered(granted, requested)


def permission_rows(kind: str, requested: Scope, granted: Scope | None, *, preapproved: bool,
                    requested_perms: list[Permission] | None = None) -> list[PermissionRow]:
    """Every requested permission plus the granted ones no longer asked for, highest risk first."""
    asked = requested_perms if requested_perms is not None else requested.permissions()
    asked_keys = {p.key for p in asked}
    granted_perms = {p.key: p for p in granted.permissions()} if granted is not None else {}
    rows = []
    for perm in asked:
        approved = preapproved or perm.key == "api:log" or covers(granted_perms, perm)
        how, sentence = enforcement(kind, perm.key)
        rows.append(PermissionRow(perm, True, approved, how, sentence))
    for key, perm in granted_perms.items():
        if key not in asked_keys:
            how, sentence = enforcement(kind, key)
            rows.append(PermissionRow(perm, False, True, how, sentence))
    rows.sort(key=lambda r: (RISK_ORDER[r.permission.risk], r.key))
    return rows
