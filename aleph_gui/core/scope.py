"""The scope model: what a plugin may touch, how risky each permission is, and who enforces it.

A scope is flattened into `Permission` items (one API, one path, one host, ...) so that
grants can be compared item by item (`diff_scopes`) and shown in plain language.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
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

NODE_PROCESS_KEY = "process:nodejs"
WASM_CODE_KEY = "code:wasm"
# Risk in its OS sandbox; where this system has no sandbox the review raises it to high (review.py).
NODE_PROCESS_RISK: Risk = "low"


class FileAccess(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: FileMode = "none"
    # As written in the manifest: a WASM guest sees each granted folder under this name.
    paths: list[str] = Field(default_factory=list)
    # Written path -> canonical absolute path (`Scope.resolved(root)`). Grants are compared, stored and
    # shown by these; a manifest cannot set them (they are recomputed whenever a manifest is built).
    resolved: dict[str, str] = Field(default_factory=dict)

    def canonical(self, written: str) -> str:
        """The canonical form of one written path (resolved with the plugin folder when known)."""
        found = self.resolved.get(written)
        # Not resolved (a scope built without its plugin folder, e.g. a grant stored before paths were
        # resolved): resolved now, every time, so a link changed since is never missed.
        return found if found is not None else canonical_path(written)

    def host_paths(self) -> dict[str, str]:
        """Written path -> the canonical folder it gives, for a runtime to hand over (a WASM guest sees
        the folder under its written name). Empty when no file access; `{"/": "/"}` when no path is named."""
        if self.mode == "none":
            return {}
        return {p: self.canonical(p) for p in self.paths} or {"/": "/"}

    def canonical_paths(self) -> list[str]:
        """What the grant really gives, one canonical path each (`["/"]` when no path is named)."""
        if self.mode == "none":
            return []
        return sorted({self.canonical(p) for p in self.paths}) or ["/"]


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
    # Runs programs (command hooks, stdio MCP servers,
    # Aleph's `permissions.shell`, child processes of Node plugins).
    shell: bool = False
    # Runs its own Node.js process (every `kind = "nodejs"` plugin; derived from the manifest, never written).
    node_process: bool = False
    # Runs its own WebAssembly code (every `kind = "wasm"` plugin; derived, never written): sandboxed, but its
    # hooks see and may change what flows through the app, so it is reviewed like any other code.
    wasm_code: bool = False

    def permissions(self) -> list[Permission]:
        return scope_permissions(self)

    def needs_review(self) -> bool:
        """Anything beyond writing to its own log needs the user's approval."""
        # Same answer as checking permissions() for keys other than api:log, without building them.
        return (any(api != "log" and api not in ALWAYS_AVAILABLE_APIS for api in self.allowed_apis)
                or self.file_access.mode != "none"
                or self.network_access.mode == "any"
                or (self.network_access.mode == "allow" and bool(self.network_access.hosts)) or self.shell
                or self.node_process or self.wasm_code)

    def resolved(self, root: str | os.PathLike[str] | None) -> Scope:
        """This scope with every file path resolved: `~`, `..`, `//` and symbolic links, relative
        paths inside `root` (the plugin folder). Asks the file system only when paths are named.

        With a root every path is resolved afresh; without one (a manifest validated again, as
        pydantic does when it is put into another model) paths resolved before are kept.
        """
        fa = self.file_access
        if root is not None:
            base = os.fspath(root)
            resolved = {p: canonical_path(p, base) for p in fa.paths}
        else:
            resolved = {p: fa.resolved.get(p) or canonical_path(p) for p in fa.paths}
        if resolved == fa.resolved:
            return self
        return self.model_copy(update={"file_access": fa.model_copy(update={"resolved": resolved})})

    def digest(self) -> str:
        """Stable hash of the exact scope, stored with a grant."""
        keys = sorted(p.key for p in self.permissions())
        return hashlib.sha256(json.dumps(keys).encode()).hexdigest()[:16]


class Permission(BaseModel):
    """One item of a scope, e.g. key='file:read:/home/me/notes' (file keys hold canonical paths)."""

    model_config = ConfigDict(frozen=True)  # shared between scopes (the fixed ones below)
    key: str
    text: str
    risk: Risk


# The permissions that never vary, built once: listing thousands of plugins asks for them many times.
_API_PERMISSIONS = {api: Permission(key=f"api:{api}", text=text, risk=risk) for api, (text, risk) in KNOWN_APIS.items()}
_ANY_HOST = Permission(key="net:*", text="connect to any host on the internet", risk="high")
# Medium in the OS sandbox (the programs see only the plugin's folder and grants); high without one.
_SHELL = Permission(key="shell", text="run programs and shell commands", risk="medium")
_NODE_PROCESS = Permission(key=NODE_PROCESS_KEY, text="run its own Node.js program on this computer",
                           risk=NODE_PROCESS_RISK)
_WASM_CODE = Permission(key=WASM_CODE_KEY, text="run its own WebAssembly code, which sees only what is granted here",
                        risk="low")


# -- canonical paths ---------------------------------------------------------------------------------

def canonical_path(written: str, root: str | None = None) -> str:
    """`~` expanded, relative paths joined to `root`, then `..`, `.`, `//` and symbolic links resolved.

    Without a root a relative path can only be normalised as text; it then never matches an
    absolute one (a grant stored that way is reviewed again rather than trusted).
    """
    if written.strip() in ("", "*"):
        return "/"
    path = os.path.expanduser(written) if written.startswith("~") else written
    if not os.path.isabs(path):
        if root is None:
            return os.path.normpath(path)
        path = os.path.join(root, path)
    try:
        return os.path.realpath(path)
    except (ValueError, OSError):  # a NUL byte or a name too long: nothing can open it; text is all there is
        return os.path.normpath(path).replace("//", "/") or "/"


@functools.lru_cache(maxsize=8)
def _home(home_env: str | None) -> str:
    return os.path.realpath(os.path.expanduser("~"))


def home_folder() -> str:
    """The user's home folder, canonical (follows `$HOME`)."""
    return _home(os.environ.get("HOME"))


def _within(path: str, parent: str) -> bool:
    if parent == "/":
        return os.path.isabs(path)
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def display_path(canonical: str) -> str:
    """A canonical path as shown to the user: inside the home folder as `~/...`."""
    home = home_folder()
    if canonical != home and _within(canonical, home) and home != "/":
        return "~/" + canonical[len(home):].lstrip("/")
    return canonical


# Folders whose mere reading gives away secrets or the system's state: high risk even read-only.
SYSTEM_FOLDERS = ("/etc", "/var", "/proc", "/sys", "/dev", "/boot")
SECRET_HOME_FOLDERS = (".ssh", ".gnupg", ".aws", ".aleph")


def _file_permission(mode: str, canonical: str, written: list[str]) -> Permission:
    verb = "read" if mode == "read" else "read and change"
    home = home_folder()
    if canonical == "/":
        where, broad = "any file on this computer", True
    elif canonical == home:
        where, broad = "every file in your home folder", True
    elif os.path.isabs(canonical) and _within(home, canonical):
        where, broad = f"every file in {canonical}, your whole home folder included", True
    elif not os.path.isabs(canonical):
        where, broad = f"files in '{canonical}' (relative to its plugin folder)", False
    else:
        shown = display_path(canonical)
        where = f"files in {shown}"
        broad = any(_within(canonical, folder) for folder in SYSTEM_FOLDERS) or \
            any(_within(canonical, os.path.join(home, name)) for name in SECRET_HOME_FOLDERS)
    # Say what was written when it reads differently from what it gives (`//`, `data`, a link).
    plain = {canonical, display_path(canonical), "*", ""} | ({"~"} if canonical == home else set())
    asked = [w for w in written if (w.rstrip("/") or w) not in plain]
    if asked:
        where += " (asked for as " + ", ".join(f"'{w}'" for w in asked) + ")"
    risk: Risk = "high" if mode == "read_write" or broad else "medium"
    return Permission(key=f"file:{mode}:{canonical}", text=f"{verb} {where}", risk=risk)


def scope_permissions(scope: Scope) -> list[Permission]:
    items: list[Permission] = []
    for api in sorted((set(scope.allowed_apis) - ALWAYS_AVAILABLE_APIS) | {"log"}):
        known = _API_PERMISSIONS.get(api)
        items.append(known or Permission(key=f"api:{api}", text=f"use the host API '{api}'", risk="medium"))
    fa = scope.file_access
    if fa.mode != "none":
        by_path: dict[str, list[str]] = {}
        for path in sorted(set(fa.paths)):
            by_path.setdefault(fa.canonical(path), []).append(path)
        for canonical, written in sorted(by_path.items()) or [("/", [])]:
            items.append(_file_permission(fa.mode, canonical, written))
    na = scope.network_access
    if na.mode == "any":
        items.append(_ANY_HOST)
    elif na.mode == "allow":
        for host in sorted(set(na.hosts)):
            items.append(Permission(key=f"net:{host}", text=f"connect to {host}", risk="medium"))
    if scope.shell:
        items.append(_SHELL)
    if scope.node_process:
        items.append(_NODE_PROCESS)
    if scope.wasm_code:
        items.append(_WASM_CODE)
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
    """A requested item is covered by an identical grant, or a wider one of the same kind.

    File keys hold canonical paths, so "inside" is a plain prefix test on whole path parts.
    """
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
            if gmode in modes and _within(path, gpath):
                return True
    return False


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
