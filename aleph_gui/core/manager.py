"""ExtensionManager: discover -> validate -> review -> load -> register -> watch.

The only object the UI and the CLI talk to. It owns the state database, the registry, the hook
executor and one `PluginSlot` per plugin id (slot.py decides each plugin's state), and tells
subscribers about every change. Everything it owns changes on its loop thread; subscribers are
called there too (the Qt main thread in the window), whichever thread a runtime reported from.

`load=False` gives a headless manager that discovers and decides states without running any
plugin code: the CLI's inventory commands (list, show, grant, enable, …) use it, so every state
change goes through one code path.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_gui.core import events as ev
from aleph_gui.core.audit import AuditTrail
from aleph_gui.core.discovery import load_one
from aleph_gui.core.errors import (
    AlephError,
    PluginNotRunnable,
)
from aleph_gui.core.hook_events import canonical_event
from aleph_gui.core.hooks import HookExecutor
from aleph_gui.core.install import InstallError, move_into_place, stage
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.lifecycle import Lifecycle
from aleph_gui.core.paths import Locations
from aleph_gui.core.plugin_calls import PluginCalls
from aleph_gui.core.registry import PluginRegistry, Undo
from aleph_gui.core.scope import Scope, ScopeDiff
from aleph_gui.core.skills import SkillEntry, collect_skills
from aleph_gui.core.state import StateDB
from aleph_gui.core.trace import TraceRecord

log = logging.getLogger(__name__)

STATE_POLL_S = 0.5  # how soon a change made by another process (the CLI) shows up


class ExtensionManager(PluginCalls):
    def __init__(self, locations: Locations, *, safe_mode: bool = False, watch: bool = False,
                 load: bool = True) -> None:
        self.locations = locations
        self.watch = watch and load
        self.load = load  # False: decide states only, never run plugin code
        self.state = StateDB(locations.state_db)
        self.registry = PluginRegistry()
        self._bus = ev.ChangeBus()
        self._audit = AuditTrail(self.state, self._bus)
        self.hooks = HookExecutor(trace_sink=self._audit.take)
        self._life = Lifecycle(locations, self.state, self.registry, self.hooks, self._bus, self.fire, load=load,
                               safe_mode=safe_mode)
        self._slots = self._life.slots
        self._tasks: list[asyncio.Task[Any]] = []
        self._watcher: Any = None

    @property
    def safe_mode(self) -> bool:
        return self._life.safe_mode

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Discover every plugin, load those that may run, start the watcher when asked."""
        self._bus.bind(asyncio.get_running_loop())
        await self.rescan()
        if self.load:
            self._tasks.append(asyncio.create_task(self._audit.flush_forever(), name="audit-flush"))
            self._tasks.append(asyncio.create_task(self._follow_other_writers(self.state.data_version()),
                                                  name="state-follow"))
        if self.watch:
            from aleph_gui.core.watcher import PluginWatcher
            self._watcher = PluginWatcher(self)
            await self._watcher.start()
        self._bus.emit(ev.Ready(""))

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
            self._watcher = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for slot in list(self._slots.values()):
            await self._life.unload(slot)
        self._audit.flush()
        self.state.close()

    async def __aenter__(self) -> ExtensionManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- reading -----------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        out = []
        for entry in self._life.listing:
            slot = self._slots.get(entry.id)
            if slot is None:
                continue
            active = entry.path == slot.found.path and entry.origin == slot.found.origin
            out.append(slot.info(self.registry) if active else slot.shadow_info(entry))
        return out

    def plugin(self, plugin_id: str) -> PluginInfo:
        return self._slot(plugin_id).info(self.registry)

    def pending_review(self, plugin_id: str) -> ScopeDiff | None:
        return self._slot(plugin_id).review_diff()

    def requested_scope(self, plugin_id: str) -> Scope:
        """What the newest version on disk asks for (an update waiting for review included)."""
        return self._slot(plugin_id).requested

    def logs(self, plugin_id: str) -> list[ev.PluginLog]:
        slot = self._slots.get(plugin_id)
        return list(slot.logs) if slot is not None else []

    async def inspect(self, plugin_id: str) -> PluginInfo:
        """One plugin in full, with its code on disk compared to the code that was approved."""
        slot = self._slot(plugin_id)
        await self._life.check_code(slot)
        return slot.info(self.registry)

    @property
    def project_folder(self) -> Path | None:
        return self.locations.project

    def is_trusted(self, folder: str | Path | None = None) -> bool:
        """Whether the plugins of a project folder (default: this manager's project) may run."""
        target = Path(folder).expanduser().resolve() if folder else self.locations.project
        return target is not None and self.state.trusted(str(target))

    async def trust(self, folder: str | Path | None = None, trusted: bool = True) -> Path:
        """Let the plugins of a project folder run (or stop them: `trusted=False`); default: this project."""
        target = Path(folder).expanduser().resolve() if folder else self.locations.project
        if target is None:
            raise AlephError(None, "there is no project folder to trust; pass one (aleph-ext trust DIR)")
        if not target.is_dir():
            raise AlephError(None, f"{target} is not a folder")
        if self.state.set_trusted(str(target), trusted):
            await self._life.recompute_all()
        return target

    def is_loaded(self, plugin_id: str) -> bool:
        slot = self._slots.get(plugin_id)
        return slot is not None and slot.version is not None

    def subscribe(self, callback: Callable[[ev.ChangeEvent], None]) -> Undo:
        """`callback(event)` for every change, always on the manager's loop thread."""
        return self._bus.subscribe(callback)

    # -- discovery ---------------------------------------------------------------------
    async def rescan(self) -> None:
        """Rescan every location; load what may run, unload what went away."""
        await self._life.rescan()

    async def discover(self) -> list[PluginInfo]:
        """`rescan()`, then the listing."""
        await self.rescan()
        return self.plugins()

    # -- user actions ------------------------------------------------------------------
    async def enable(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.set_enabled(plugin_id, True)
        # Enabling again revives a failed / crashed plugin with a fresh runtime.
        if slot.fault is not None:
            slot.fault = None
            await self._life.unload(slot)
        return self.plugin(await self._life.refresh(slot))

    async def disable(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.set_enabled(plugin_id, False)
        return self.plugin(await self._life.refresh(slot))

    async def grant(self, plugin_id: str, scope: Scope | None = None) -> PluginInfo:
        """Approve `scope` (default: exactly what the newest version requests)."""
        slot = self._slot(plugin_id)
        if slot.found.manifest is None:
            raise PluginNotRunnable(plugin_id, f"its manifest could not be read ({slot.decision.reason})")
        newest = slot.pending.found if slot.pending is not None else slot.found
        code = await asyncio.to_thread(self._life.digests.of, newest.path.resolve())
        self.state.set_grant(plugin_id, scope or slot.requested, identity=newest.identity, code_digest=code)
        if slot.pending is not None:
            return await self.reload(plugin_id)
        return self.plugin(await self._life.refresh(slot))

    async def deny(self, plugin_id: str) -> PluginInfo:
        """Refuse what a plugin asks for. An update that asked for more is dropped (the approved
        version keeps running; reloading asks again); a plugin never approved is turned off."""
        slot = self._slot(plugin_id)
        if slot.pending is not None:
            slot.pending = None
            before, _ = slot.settle(safe_mode=self.safe_mode)
            self._bus.emit(ev.StateChanged(plugin_id, state=slot.state, previous=before.state,
                                       reason="you denied the update; the approved version keeps running"))
            return self.plugin(plugin_id)
        return await self.disable(plugin_id)

    async def revoke(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.revoke(plugin_id, slot.found.identity)
        await self._life.unload(slot)
        return self.plugin(await self._life.refresh(slot))

    async def set_safe_mode(self, on: bool) -> list[PluginInfo]:
        """Safe mode: only builtin plugins run. Saved enabled flags are not touched."""
        if self.safe_mode != on:
            self._life.safe_mode = on
            await self._life.recompute_all()
        return self.plugins()

    async def reload(self, plugin_id: str) -> PluginInfo:
        """Re-read one plugin from disk. The new version is prepared before the old is retired;
        a broken or scope-widening new version leaves the old one running."""
        slot = self._slot(plugin_id)
        found = await asyncio.to_thread(load_one, slot.found.path, slot.found.origin)
        if found.valid and found.id != plugin_id:  # the id changed on disk: remove + add
            await self.rescan()
            return self.plugin(found.id)
        slot.fault = None
        return self.plugin(await self._life.apply_update(slot, found))

    async def reload_all(self) -> list[PluginInfo]:
        await self.rescan()
        for slot in [s for s in self._slots.values() if s.version is not None]:
            await self.reload(slot.id)
        return self.plugins()



    async def _follow_other_writers(self, version: int) -> None:
        """Another process (the CLI beside the GUI) changed grants or flags: follow it."""
        while True:
            await asyncio.sleep(STATE_POLL_S)
            now = self.state.data_version()
            if now != version:
                version = now
                try:
                    await self._life.recompute_all()
                except Exception:  # keep following; one bad refresh must not end it
                    log.exception("could not apply changes made by another process")


    # -- install / uninstall -----------------------------------------------------------
    async def install(self, source: str | Path, replace: bool = False) -> PluginInfo:
        """Copy a plugin folder or unpack a .zip into the user location. Runs no plugin code:
        a plugin whose code would run, or that asks for more than `log`, waits for review."""
        source = Path(source).expanduser()
        target_parent = self.locations.user_plugins
        staged_root, found = await asyncio.to_thread(stage, source, target_parent)
        target = target_parent / found.id
        existing = self._slots.get(found.id)
        user_copy = next((e for e in [existing.found, *existing.shadowed] if e.origin == "user"), None) \
            if existing is not None else None
        replacing = user_copy is not None
        if replacing and not replace:
            shutil.rmtree(staged_root, ignore_errors=True)
            raise InstallError(found.id, "a plugin with this id is already installed; use --replace")
        if existing is not None and user_copy is not None:
            await self._life.unload(existing)
            replaced = user_copy.identity
            grant = self.state.grant(found.id, replaced)
            if grant is not None and not grant.review_reason and grant.identity.folder == replaced.folder:
                # someone else's code must not run under the old approval
                code = await asyncio.to_thread(self._life.digests.of, found.path)
                if code != grant.code_digest:
                    when = time.strftime("%Y-%m-%d %H:%M")
                    self.state.require_review(found.id, replaced, f"its code was replaced by an install on {when}")
        await asyncio.to_thread(move_into_place, staged_root, target, replace)
        await self.rescan()
        if replacing:
            await self.reload(found.id)
        return self.plugin(found.id)

    async def uninstall(self, plugin_id: str) -> None:
        slot = self._slot(plugin_id)
        if slot.found.origin == "builtin":
            raise PluginNotRunnable(plugin_id, "builtin plugins cannot be uninstalled; disable it instead")
        await self._life.unload(slot)
        await asyncio.to_thread(shutil.rmtree, slot.found.path)
        self.state.forget(plugin_id, slot.found.identity, last_copy=not slot.shadowed)
        del self._slots[plugin_id]
        self._life.listing = [e for e in self._life.listing if e.path != slot.found.path]
        self._bus.emit(ev.PluginRemoved(plugin_id))
        await self.rescan()  # an overridden copy elsewhere becomes active

    # -- skills, commands, agents; the audit log --------------------------------------------------
    def skills(self) -> list[SkillEntry]:
        """Every skill, command and agent: the standalone folders, then each listed plugin's."""
        return collect_skills(self.locations, self.plugins())

    def skill(self, name: str) -> SkillEntry:
        """One skill, command or agent by name (`plugin:name`, or the short name when only one has it)."""
        entries = [e for e in self.skills() if e.usable]
        exact = [e for e in entries if e.name == name]
        short = [e for e in entries if e.name.split(":", 1)[-1] == name]
        found = exact or short
        if len(found) != 1:
            names = ", ".join(e.name for e in found) if found else "none"
            raise AlephError(None, f"'{name}' names {len(found)} skills, commands or agents ({names}); "
                                   + ("use the full name" if found else "aleph-ext skills lists them"))
        return found[0]

    def audit(self, limit: int = 1000, *, plugin: str | None = None, event: str | None = None,
              since: float | None = None, until: float | None = None) -> list[TraceRecord]:
        """The hook audit history (oldest first), including calls traced a moment ago."""
        self._audit.flush()
        name = canonical_event(event) if event else None
        return self.state.audit(limit, plugin_id=plugin, event=name or event, since=since, until=until)

    def notify_skills_changed(self) -> None:
        """Skills folders changed on disk: listeners re-read `skills` (id '' = not one plugin)."""
        self._bus.emit(ev.PluginChanged("", version=""))
