"""The scope model: what a plugin may touch, how risky each permission is, and who enforces it.

A scope is flattened into `Permission` items (one API, one path, one host, ...) so that
grants can be compared item by item (`diff_scopes`) and shown in plain language.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FileMode = Literal["none", "read", "read_write"]
NetMode = Literal["none", "allow", "any"]
Risk = Literal["low", "medium", "high"]
RISK_ORDER: dict[str, int] = {"high": 0, "medium": 1, "low": 2}

# Host APIs a plugin can ask for; "log" is always allowed and never needs review.
KNOWN_APIS: dict[str, tuple[str, Risk]] = {
    "log": ("write to its own log", "low"),
    "kv": ("keep its own small key/value store", "low"),
    "config": ("read its own settings", "low"),
    "tools": ("call tools of other plugins", "medium"),
    "events": ("fire events into the hook chain", "medium"),
}
# Not permissions: every WASM module reads clocks and random numbers through WASI, and Node.js code
# has Date.now(), so no runtime could withhold "time". Asking for it is allowed, never reviewed
# and never listed as a permission.
ALWAYS_AVAILABLE_APIS = frozenset({"time"})


class FileAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: FileMode = "none"
    paths: list[str] = Field(default_factory=list)


class NetworkAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: NetMode = "none"
    hosts: list[str] = Field(default_factory=list)


class Scope(BaseModel):
    """What a plugin requests (from its manifest) or what the user granted."""

    model_config = ConfigDict(extra="forbid")
    allowed_apis: list[str] = Field(default_factory=lambda: ["log"])
    file_access: FileAccess = Field(default_factory=FileAccess)
    network_access: NetworkAccess = Field(default_factory=NetworkAccess)
    # Runs programs as the user, outside any sandbox (Claude command hooks, stdio MCP servers,
    # Aleph's `permissions.shell`, child processes of Node plugins).
    shell: bool = False

    def permissions(self) -> list[Permission]:
        return scope_permissions(self)

    def needs_review(self) -> bool:
        """Anything beyond writing to its own log needs the user's approval."""
        # Same answer as checking permissions() for keys other than api:log, without building them.
        return (any(api != "log" and api not in ALWAYS_AVAILABLE_APIS for api in self.allowed_apis)
                or self.file_access.mode != "none"
                or self.network_access.mode == "any"
                or (self.network_access.mode == "allow" and bool(self.network_access.hosts)) or self.shell)

    def digest(self) -> str:
        """Stable hash of the exact scope, stored with a grant."""
        keys = sorted(p.key for p in self.permissions())
        return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]


class Permission(BaseModel):
    """One item of a scope, e.g. key='file:read:~/notes'."""

    key: str
    text: str
    risk: Risk


def _file_risk(mode: str, path: str) -> Risk:
    broad = path in ("/", "~", "~/", "*") or path.startswith("/etc")
    if mode == "read_write":
        return "high"
    return "high" if broad else "medium"


def scope_permissions(scope: Scope) -> list[Permission]:
    items: list[Permission] = []
    for api in sorted((set(scope.allowed_apis) - ALWAYS_AVAILABLE_APIS) | {"log"}):
        text, risk = KNOWN_APIS.get(api, (f"use the host API '{api}'", "medium"))
        items.append(Permission(key=f"api:{api}", text=text, risk=risk))
    fa = scope.file_access
    if fa.mode != "none":
        verb = "read" if fa.mode == "read" else "read and change"
        for path in sorted(set(fa.paths)) or ["/"]:
            where = "any file on this computer" if path in ("/", "*") else f"files in {path}"
            items.append(Permission(key=f"file:{fa.mode}:{path}", text=f"{verb} {where}",
                                    risk=_file_risk(fa.mode, path)))
    na = scope.network_access
    if na.mode == "any":
        items.append(Permission(key="net:*", text="connect to any host on the internet", risk="high"))
    elif na.mode == "allow":
        for host in sorted(set(na.hosts)):
            items.append(Permission(key=f"net:{host}", text=f"connect to {host}", risk="medium"))
    if scope.shell:
        items.append(Permission(key="shell", text="run shell commands as you, outside any sandbox",
                                risk="high"))
    items.sort(key=lambda p: (RISK_ORDER[p.risk], p.key))
    return items


def risk_of(scope: Scope) -> Risk:
    """The highest risk of any permission (what the risk chip shows)."""
    perms = scope.permissions()
    return min((p.risk for p in perms), key=lambda r: RISK_ORDER[r], default="low")


class ScopeDiff(BaseModel):
    added: list[Permission]
    removed: list[Permission]
    unchanged: list[Permission]

    @property
    def widens(self) -> bool:
        return bool(self.added)


def covers(granted: dict[str, Permission], item: Permission) -> bool:
    """A requested item is covered by an identical grant, or a wider one of the same kind."""
    if item.key in granted:
        return True
    kind, _, rest = item.key.partition(":")
    if kind == "net":
        return "net:*" in granted
    if kind == "file":
        mode, _, path = rest.partition(":")
        modes = ("read", "read_write") if mode == "read" else ("read_write",)
        for g in granted.values():
            gk, _, grest = g.key.partition(":")
            if gk != "file":
                continue
            gmode, _, gpath = grest.partition(":")
            if gmode in modes and _path_within(path, gpath):
                return True
    return False


def _path_within(path: str, parent: str) -> bool:
    if parent in ("/", "*"):
        return True
    p, q = path.rstrip("/"), parent.rstrip("/")
    return p == q or p.startswith(q + "/")


def diff_scopes(granted: Scope | None, requested: Scope) -> ScopeDiff:
    """Compare a grant with a request; `added` is what the user has not approved yet (highest risk first)."""
    req = {p.key: p for p in requested.permissions()}
    old = {p.key: p for p in (granted.permissions() if granted else [])}
    added = [p for p in req.values() if p.key != "api:log" and not covers(old, p)]
    unchanged = [p for p in req.values() if p.key in old or (p.key == "api:log") or covers(old, p)]
    removed = [p for p in old.values() if p.key not in req]
    order = lambda p: (RISK_ORDER[p.risk], p.key)  # noqa: E731
    return ScopeDiff(added=sorted(added, key=order), removed=sorted(removed, key=order),
                     unchanged=sorted(unchanged, key=order))


def is_covered(granted: Scope | None, requested: Scope) -> bool:
    """True when the grant covers every requested permission (narrower requests apply at once)."""
    if not requested.needs_review():
        return True
    if granted is None:
        return False
    return not diff_scopes(granted, requested).widens
