"""Build a RuntimeContext the way the manager does: the host API bound to one plugin's own kv store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_gui.core.host_api import HostApi
from aleph_gui.core.manifest.model import Capability, PluginManifest
from aleph_gui.core.registry import Undo
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import Identity, StateDB

# Runtime tests build no discovery records: every plugin they run owns its key/value rows as this one.
TEST_IDENTITY = Identity("user", "/test", "", "")
OWNER = TEST_IDENTITY.data_owner


def runtime_context(manifest: PluginManifest, root: Path, state: StateDB, *, scope: Scope | None = None,
                    config: dict[str, Any] | None = None,
                    log: Callable[[str, str], None] = lambda level, msg: None,
                    register: Callable[[Capability], Undo] | None = None,
                    report_state: Callable[[str, str], None] = lambda state, reason: None) -> RuntimeContext:
    granted = scope if scope is not None else manifest.scope
    settings = {**manifest.config_defaults, **(config or {})}
    host = HostApi(manifest.id, granted.allowed_apis, state.kv_store(manifest.id, TEST_IDENTITY), config=lambda: settings, log=log)
    return RuntimeContext(manifest=manifest, root=root.resolve(), scope=granted, host=host, log=log,
                          register=register or (lambda cap: (lambda: None)), report_state=report_state)
