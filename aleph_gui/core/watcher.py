"""Hot reload: watch the plugin locations and the skills folders, and tell the manager what changed.

Bursts are coalesced (an editor's save-rename-delete dance arrives as one batch), then each batch
becomes: new or removed folders -> a rescan; changed files of a known plugin -> reload of that plugin.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

if TYPE_CHECKING:
    from aleph_gui.core.manager import ExtensionManager

log = logging.getLogger(__name__)

DEBOUNCE_MS = 40  # long enough to merge one save, short enough to feel instant
STEP_MS = 10


class PluginWatcher:
    def __init__(self, manager: ExtensionManager) -> None:
        self.manager = manager
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # handled change batches (for tests and the soak)

    def watched_roots(self) -> list[Path]:
        locs = self.manager.locations
        locs.user_plugins.mkdir(parents=True, exist_ok=True)
        roots = [root for _, root in locs.plugin_roots()] + list(locs.skill_dirs)
        return [r for r in roots if r.is_dir()]

    async def start(self) -> None:
        roots = self.watched_roots()
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(roots, ready), name="plugin-watcher")
        await asyncio.wait_for(ready.wait(), timeout=5)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None

    async def _run(self, roots: list[Path], ready: asyncio.Event) -> None:
        if not roots:
            ready.set()
            await self._stop.wait()
            return
        watch = watchfiles.awatch(*roots, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=self._stop,
                                  yield_on_timeout=True, rust_timeout=500)
        ready.set()
        async for changes in watch:
            if not changes:
                continue
            try:
                await self.handle({Path(p) for _, p in changes})
            except Exception:  # one bad batch must not stop hot reload
                log.exception("could not apply file changes")

    def _plugin_folder(self, path: Path) -> tuple[str, Path] | None:
        """The plugin folder a changed path belongs to (monorepo members one level down)."""
        for origin, root in self.manager.locations.plugin_roots():
            try:
                rel = path.relative_to(root)
            except ValueError:
                continue
            if not rel.parts:
                return None
            top = root / rel.parts[0]
            for info in self.manager.plugins():
                if info.path == top or (len(rel.parts) > 1 and info.path == top / rel.parts[1]):
                    return origin, info.path
            return origin, top
        return None

    async def handle(self, paths: set[Path]) -> None:
        self.batches += 1
        known = {info.path: info.id for info in self.manager.plugins() if info.state != "overridden"}
        folders: set[Path] = set()
        skills_changed = False
        for path in paths:
            hit = self._plugin_folder(path)
            if hit is None:
                skills_changed = True
                continue
            folders.add(hit[1])
        rescan = any(folder not in known or not folder.exists() for folder in folders)
        if rescan:
            await self.manager.discover()
        for folder in sorted(folders):
            if folder in known and folder.exists():
                await self.manager.reload(known[folder])
        if skills_changed:
            self.manager.notify_skills_changed()
