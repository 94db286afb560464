"""What the permission review shows: each permission, whether it is approved, and what enforces it.

The UI and the CLI render these typed rows; they never parse permission keys or match words.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aleph_gui.core.sandbox import SandboxStatus, sandbox_status
from aleph_gui.core.sandbox.policy import refusal
from aleph_gui.core.scope import RISK_ORDER, Permission, Scope, covers, home_folder


class Enforcement(StrEnum):
    """Who stands behind a permission's limit on this machine."""

    ENFORCED = "enforced"  # the sandbox or the app refuses anything beyond it
    NOT_ENFORCED = "not_enforced"  # the code could do more than the grant says
    DECLARED_ONLY = "declared_only"  # no code of this plugin runs in a sandbox
    RUNS_AS_YOU = "runs_as_you"  # programs run with the user's own rights
    REFUSED = "refused"  # no sandbox can give this: the plugin will not start with it


_SANDBOXED = "sandboxed (bubblewrap)"
# What each runtime enforces, per permission family, with an OS sandbox / without one.
_WASM: dict[str, tuple[Enforcement, str]] = {
    "api": (Enforcement.ENFORCED, "enforced (host functions withheld)"),
    "file": (Enforcement.ENFORCED, "enforced (WASI allowed paths)"),
    "net": (Enforcement.ENFORCED, "enforced (Extism allowed hosts)"),
    "code": (Enforcement.ENFORCED, "enforced (Extism: the module gets only the host functions, folders and hosts "
                                   "granted here, and every call has a time limit)"),
}


def _sandboxed(family: str) -> tuple[Enforcement, str]:
    return Enforcement.ENFORCED, {
        "api": "enforced (host API checked by the app)",
        "file": f"{_SANDBOXED}: only the granted folders are visible, at their resolved paths; Node.js's "
                "permission model is a second layer inside",
        "net": f"{_SANDBOXED}: its own network namespace; a host list is enforced by the app's filtering proxy",
        "process": f"{_SANDBOXED}: its own process namespace; it cannot see or signal the app or your other "
                   "programs, and sees only its folder and its grants",
        "shell": f"{_SANDBOXED}: the programs it runs see only its folder and its grants, with the network it "
                 "was granted",
    }.get(family, "declared only")


def _unsandboxed(family: str, why: str) -> tuple[Enforcement, str]:
    not_here = f"not sandboxed on this system ({why})"
    if family == "api":
        return Enforcement.ENFORCED, "enforced (host API checked by the app)"
    if family == "file":
        return Enforcement.NOT_ENFORCED, (f"{not_here}: Node.js's permission model limits paths but follows "
                                          "symbolic links out of them")
    if family == "net":
        return Enforcement.NOT_ENFORCED, f"{not_here}: it can reach any host, and services on this computer"
    return Enforcement.RUNS_AS_YOU, f"{not_here}: it runs as you"


def _refusal(key: str) -> str | None:
    """Why the sandbox will not give this folder (the same rule it applies when the plugin starts)."""
    family, _, rest = key.partition(":")
    if family != "file":
        return None
    path = rest.partition(":")[2]
    return refusal("/" if path == "*" else path, home_folder())


def enforcement(kind: str, permission_key: str, sandbox: SandboxStatus | None = None) -> tuple[Enforcement, str]:
    """How a permission is enforced for a plugin of this kind on this machine: the typed answer and its
    sentence. Plugin processes (Node.js plugins, command hooks, MCP stdio servers) run in the OS
    sandbox where this system has one, and as the user where it has none — said so, never claimed."""
    family = permission_key.split(":", 1)[0]
    if kind == "wasm" and family in _WASM:
        return _WASM[family]
    if family not in ("shell", "process") and kind != "nodejs":
        return Enforcement.DECLARED_ONLY, "declared only (no code of this plugin runs in a sandbox)"
    status = sandbox or sandbox_status()
    if not status.available:
        return _unsandboxed(family, status.reason)
    why = _refusal(permission_key)
    if why:
        return Enforcement.REFUSED, (f"refused: no sandbox can give a plugin this folder (it {why}); "
                                     "the plugin will not start with it")
    return _sandboxed(family)


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


def _row(kind: str, perm: Permission, requested: bool, approved: bool) -> PermissionRow:
    how, sentence = enforcement(kind, perm.key)
    if how in (Enforcement.NOT_ENFORCED, Enforcement.RUNS_AS_YOU, Enforcement.REFUSED) and perm.risk != "high":
        perm = perm.model_copy(update={"risk": "high"})  # what is not contained counts as high risk
    return PermissionRow(perm, requested, approved, how, sentence)


def permission_rows(kind: str, requested: Scope, granted: Scope | None, *, preapproved: bool) -> list[PermissionRow]:
    """Every requested permission plus the granted ones no longer asked for, highest risk first."""
    asked = requested.permissions()
    asked_keys = {p.key for p in asked}
    granted_perms = {p.key: p for p in granted.permissions()} if granted is not None else {}
    rows = []
    for perm in asked:
        approved = preapproved or perm.key == "api:log" or covers(granted_perms, perm)
        rows.append(_row(kind, perm, True, approved))
    for key, perm in granted_perms.items():
        if key not in asked_keys:
            rows.append(_row(kind, perm, False, True))
    rows.sort(key=lambda r: (RISK_ORDER[r.permission.risk], r.key))
    return rows
