"""The Extism manifest of a WASM plugin: its granted scope and limits, as Extism wants them.

Scope -> Extism manifest: `file_access` -> WASI `allowed_paths` (`ro:` when read-only),
`network_access` -> `allowed_hosts` (none = no host; the app's own `http_request` checks every hop
against the same list, see `wasm_http.py`), `limits.memory_mb` -> `memory.max_pages`, and
`timeout_ms` is always set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.scope import Scope

TOOL_TIMEOUT_MS = 10_000
MIN_TIMEOUT_MS = 10
MAX_TIMEOUT_MS = 120_000
DEFAULT_MEMORY_MB = 16
MAX_MEMORY_MB = 256
PAGES_PER_MB = 16  # WebAssembly pages are 64 KiB


def memory_limit_mb(requested: int | None) -> int:
    return max(1, min(int(requested or DEFAULT_MEMORY_MB), MAX_MEMORY_MB))


def clamp_timeout(ms: int | None, default: int) -> int:
    return max(MIN_TIMEOUT_MS, min(int(ms if ms is not None else default), MAX_TIMEOUT_MS))


def allowed_paths(scope: Scope, root: Path) -> dict[str, str]:
    """Host folder -> name the plugin sees it under (the path as written in the manifest).

    Read-only grants get Extism's `ro:` prefix. Folders that do not exist are left out (WASI cannot
    open them), and the caller logs that.
    """
    fa = scope.file_access
    if fa.mode == "none":
        return {}
    prefix = "ro:" if fa.mode == "read" else ""
    out: dict[str, str] = {}
    for written in sorted(set(fa.paths)) or ["/"]:
        host = Path(written).expanduser()
        if not host.is_absolute():
            host = root / host
        out[prefix + str(host.resolve())] = written
    return out


def allowed_hosts(scope: Scope) -> list[str]:
    na = scope.network_access
    if na.mode == "any":
        return ["*"]
    if na.mode == "allow":
        return sorted(set(na.hosts))
    return []


def extism_config(ctx: RuntimeContext) -> dict[str, str]:
    """The plugin's settings as Extism config, whose values are strings."""
    merged = ctx.config
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}


def build_extism_manifest(ctx: RuntimeContext, timeout_ms: int) -> dict[str, Any]:
    """Everything of the Extism manifest except the module itself."""
    paths = {host: guest for host, guest in allowed_paths(ctx.scope, ctx.root).items()
             if Path(host.removeprefix("ro:")).is_dir()}
    return {
        "allowed_paths": paths,
        "allowed_hosts": allowed_hosts(ctx.scope),
        "memory": {"max_pages": memory_limit_mb(ctx.manifest.limits.memory_mb) * PAGES_PER_MB},
        "timeout_ms": timeout_ms,
    }
