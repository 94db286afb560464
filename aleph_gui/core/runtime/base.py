"""The interface every runtime implements, and what the manager hands a runtime.

The manager builds one `PluginRuntime` per loaded plugin version. A reload prepares a new
runtime (`start`) before the old one is retired (`stop`), so a runtime must not assume it is
the only instance of its plugin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aleph_gui.core.hook_result import HookResult
from aleph_gui.core.host_api import HostApi
from aleph_gui.core.manifest.model import Capability, PluginManifest
from aleph_gui.core.registry import Undo
from aleph_gui.core.scope import Scope


@dataclass
class RuntimeContext:
    """Everything a runtime may use. It never reads the grant table or the database: `scope` is the
    granted scope and `host` is the host API bound to this plugin (its own kv store, its settings).

    The callbacks may be called from any thread (WASM calls run on worker threads); the manager
    moves them onto its loop thread."""

    manifest: PluginManifest
    root: Path  # the plugin folder (resolved)
    scope: Scope  # granted scope: the runtime enforces exactly this
    host: HostApi
    # plugin log channel: log(level, message); level in debug/info/warning/error
    log: Callable[[str, str], None] = lambda level, msg: None
    # capabilities registered by running code (Node module shape); returns the undo
    register: Callable[[Capability], Undo] = lambda cap: (lambda: None)
    # runtime-detected state changes: report_state("crashed" | "failed", reason)
    report_state: Callable[[str, str], None] = lambda state, reason: None

    @property
    def config(self) -> dict[str, Any]:
        """The plugin's settings now (manifest defaults overlaid with the user's values)."""
        return self.host.config()

    @property
    def plugin_id(self) -> str:
        return self.manifest.id


class PluginRuntime(ABC):
    """One loaded version of one plugin."""

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx

    @property
    def plugin_id(self) -> str:
        return self.ctx.manifest.id

    @abstractmethod
    async def start(self) -> None:
        """Prepare the plugin (compile / check / spawn when activation is 'startup').

        Raises an `AlephError` subclass with a clear sentence when the plugin cannot run.
        """

    @abstractmethod
    async def stop(self) -> None:
        """Release everything: processes, instances, registrations made by running code."""

    @abstractmethod
    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        """Invoke a tool; returns its JSON result (or text). Raises PluginCallError & co."""

    @abstractmethod
    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        """Run one hook handler with `{"event": name, "data": {...}}`."""

    def run_hook_blocking(self, handler: str, event: dict[str, Any],
                          timeout_ms: int | None = None) -> HookResult:
        """Optional synchronous form, called from a worker thread so the hook executor can run a
        chain of such handlers in one hop off the event loop. Runtimes that can't, raise."""
        raise TypeError(f"{type(self).__name__} has no blocking hook form; check supports_blocking_hooks")

    supports_blocking_hooks: bool = False

    def status(self) -> dict[str, Any]:
        """Runtime facts for `show` and the UI (pid, services, memory...)."""
        return {}
