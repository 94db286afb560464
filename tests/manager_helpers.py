"""Helpers for manager-level tests: write plugin folders, run a manager on a tmp home."""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_gui.core.events import ChangeEvent
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations


def static_toml(plugin_id: str, version: str = "1.0.0", apis: tuple[str, ...] = ("log",),
                tools: tuple[str, ...] = ("",), extra: str = "") -> str:
    caps = "".join(
        f'\n[[capabilities]]\ntype = "skill"\nname = "{plugin_id}-{t or "skill"}"\ndescription = "x"\n'
        for t in tools)
    return textwrap.dedent(f"""\
        [plugin]
        id = "{plugin_id}"
        name = "{plugin_id.title()}"
        version = "{version}"
        kind = "static"
        """) + caps + f"\n[scope]\nallowed_apis = {json.dumps(list(apis))}\n" + extra


def write_plugin(root: Path, folder: str, files: dict[str, str | bytes]) -> Path:
    target = root / folder
    for rel, content in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return target


class Recorder:
    """Collects change events; `wait_for` polls until a predicate over them holds."""

    def __init__(self) -> None:
        self.events: list[ChangeEvent] = []

    def __call__(self, event: ChangeEvent) -> None:
        self.events.append(event)

    def types(self, plugin_id: str | None = None) -> list[str]:
        return [e.type for e in self.events if plugin_id is None or e.id == plugin_id]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; events: {self.types()}")
            await asyncio.sleep(0.02)


def manager_for(home: Path, project: Path | None = None, **kwargs: Any) -> ExtensionManager:
    return ExtensionManager(Locations(home=home, project=project, builtin=None), **kwargs)


def headless_plugins(locations: Locations, *, safe_mode: bool = False) -> list[PluginInfo]:
    """What `aleph-ext list` sees: a manager that decides states but runs no plugin code."""

    async def scan() -> list[PluginInfo]:
        manager = ExtensionManager(locations, safe_mode=safe_mode, load=False)
        try:
            return await manager.discover()
        finally:
            manager.state.close()

    return asyncio.run(scan())
