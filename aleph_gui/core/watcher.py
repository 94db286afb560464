"""Hot reload: watch the plugin locations and the skills folders, and tell the manager what changed.

Bursts are coalesced (an editor's save-rename-delete dance arrives as one batch), then each batch
becomes: new or removed folders -> a rescan; changed files of a known plugin -> reload of that plugin.
Locations that do not exist yet (a project's `.aleph/plugins`, a skills folder) are looked for every
`APPEAR_POLL_S`; when one appears the watch is restarted with it and the manager rescans.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import watchfiles

if TYPE_CHECKING:
    from aleph_gui.core.manager import ExtensionManager

log = logging.getLogger(__name__)

DEBOUNCE_MS = 40  # long enough to merge one save, short enough to feel instant
STEP_MS = 10
APPEAR_POLL_S = 0.5  # three stat calls: how soon a newly created plugin location is noticed


def _set_event(event: asyncio.Event, _: object) -> None:
    event.set()


class PluginWatcher:
    def __init__(self, manager: ExtensionManager) -> None:
        self.manager = manager
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # handled change batches (for tests and the soak)

    def candidate_roots(self) -> list[Path]:
        locs = self.manager.locations
        return [root for _, root in locs.plugin_roots()] + list(locs.skill_dirs)

    def watched_roots(self) -> list[Path]:
        self.manager.locations.user_plugins.mkdir(parents=True, exist_ok=True)
        return [r for r in self.candidate_roots() if r.is_dir()]

    async def start(self) -> None:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._run(ready), name="plugin-watcher")
        await asyncio.wait_for(ready.wait(), timeout=5)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None

    async def _run(self, ready: asyncio.Event) -> None:
        """Watch the existing locations; restart the watch whenever a missing one appears."""
        while not self._stop.is_set():
            roots = self.watched_roots()
            missing = [r for r in self.candidate_roots() if r not in roots]
            cycle = asyncio.Event()  # set on stop, or when a missing location appears
            waiters = [asyncio.create_task(self._stop.wait()),
                       asyncio.create_task(self._appeared(missing))]
            for waiter in waiters:
                waiter.add_done_callback(functools.partial(_set_event, cycle))
            try:
                await self._watch(roots, cycle, ready)
            finally:
                for waiter in waiters:
                    waiter.cancel()
            if not self._stop.is_set():
                try:
                    await self.manager.rescan()  # what the new location holds
                    self.manager.notify_skills_changed()
                except Exception:
                    log.exception("could not scan a newly created plugin location")

    async def _appeared(self, missing: list[Path]) -> None:
        if not missing:
            await self._stop.wait()
            return
        while not any(r.is_dir() for r in missing):
            await asyncio.sleep(APPEAR_POLL_S)

    async def _watch(self, roots: list[Path], cycle: asyncio.Event, ready: asyncio.Event) -> None:
        if not roots:
            ready.set()
            await cycle.wait()
            return
        watch = watchfiles.awatch(*roots, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=cycle,
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
            await self.manager.rescan()
        for folder in sorted(folders):
            if folder in known and folder.exists():
                await self.manager.reload(known[folder])
        if skills_changed:
            self.manager.notify_skills_changed()
