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
import functools
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_gui.core import events as ev
from aleph_gui.core.audit import AuditTrail
from aleph_gui.core.discovery import discover, load_one
from aleph_gui.core.epochs import EventEpochs
from aleph_gui.core.errors import (
    AlephError,
    PluginCallError,
    PluginNotRunnable,
    ReviewRequired,
    UnknownPlugin,
)
from aleph_gui.core.hook_events import canonical_event
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.host_api import HostApi
from aleph_gui.core.install import InstallError, move_into_place, stage
from aleph_gui.core.inventory import DiscoveredPlugin, PluginInfo
from aleph_gui.core.loader import LoadedPlugin
from aleph_gui.core.manifest.model import ORIGIN_RANK, PluginManifest
from aleph_gui.core.paths import Locations
from aleph_gui.core.registry import PluginRegistry, Undo
from aleph_gui.core.review import review_needed
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.scope import Scope, ScopeDiff, diff_scopes
from aleph_gui.core.slot import Decision, PendingUpdate, PluginSlot
from aleph_gui.core.state import StateDB, StateSnapshot

log = logging.getLogger(__name__)

STATE_POLL_S = 0.5  # how soon a change made by another process (the CLI) shows up


class ExtensionManager:
    def __init__(self, locations: Locations, *, safe_mode: bool = False, watch: bool = False,
                 load: bool = True) -> None:
        self.locations = locations
        self.safe_mode = safe_mode
        self.watch = watch and load
        self.load = load  # False: decide states only, never run plugin code
        self.state = StateDB(locations.state_db)
        self.registry = PluginRegistry()
        self._bus = ev.ChangeBus()
        self._audit = AuditTrail(self.state, self._bus)
        self.hooks = HookExecutor(trace_sink=self._audit.take)
        self._slots: dict[str, PluginSlot] = {}
        self._listing: list[DiscoveredPlugin] = []  # every folder found, in list order
        self._epochs = EventEpochs()
        self._tasks: list[asyncio.Task[Any]] = []
        self._watcher: Any = None

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Discover every plugin, load those that may run, start the watcher when asked."""
        self._bus.bind(asyncio.get_running_loop())
        await self.discover()
        if self.load:
            self._tasks.append(asyncio.create_task(self._audit.flush_forever(), name="audit-flush"))
            self._tasks.append(asyncio.create_task(self._follow_other_writers(self.state.data_version()),
                                                  name="state-follow"))
        if self.watch:
            from aleph_gui.core.watcher import PluginWatcher
            self._watcher = PluginWatcher(self)
            await self._watcher.start()
        self._emit(ev.Ready(""))

    async def stop(self) -> None:
        if self._watcher is not None:
            await self._watcher.stop()
            self._watcher = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for slot in list(self._slots.values()):
            await self._unload(slot)
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
        for entry in self._listing:
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

    def is_loaded(self, plugin_id: str) -> bool:
        slot = self._slots.get(plugin_id)
        return slot is not None and slot.version is not None

    def subscribe(self, callback: Callable[[ev.ChangeEvent], None]) -> Undo:
        """`callback(event)` for every change, always on the manager's loop thread."""
        return self._bus.subscribe(callback)

    def _slot(self, plugin_id: str) -> PluginSlot:
        slot = self._slots.get(plugin_id)
        if slot is None:
            raise UnknownPlugin(plugin_id, "no plugin with this id is installed")
        return slot

    # -- discovery ---------------------------------------------------------------------
    async def discover(self) -> list[PluginInfo]:
        """Rescan every location; load what may run, unload what went away."""
        found = discover(self.locations) if not self.load else await asyncio.to_thread(discover, self.locations)
        await self._apply(found)
        return self.plugins()

    async def _apply(self, found: list[DiscoveredPlugin]) -> None:
        """Make the slots match a fresh discovery."""
        view = self.state.snapshot()
        # A running plugin whose files changed keeps its entry; the new version goes through the
        # hot-update path (prepared first, review when it asks for more, old kept when broken).
        running_at = {(s.version.origin, s.version.path): s for s in self._slots.values() if s.version}
        updates: list[tuple[PluginSlot, DiscoveredPlugin]] = []
        listing: list[DiscoveredPlugin] = []
        for f in found:
            slot = running_at.get((f.origin, f.path.resolve())) if running_at else None
            if slot is not None and f.path == slot.found.path and (
                    not f.valid or (f.id == slot.id and f.manifest != slot.version.manifest)):  # type: ignore[union-attr]
                updates.append((slot, f))
                f = slot.found
            listing.append(f)
        groups: dict[str, list[DiscoveredPlugin]] = {}
        for f in sorted(listing, key=lambda f: ORIGIN_RANK.get(f.origin, 9)):
            groups.setdefault(f.id, []).append(f)
        self._listing = listing
        for plugin_id in [p for p in self._slots if p not in groups]:
            await self._unload(self._slots.pop(plugin_id))
            self._emit(ev.PluginRemoved(plugin_id))
        for plugin_id, (active, *shadowed) in groups.items():
            slot = self._slots.get(plugin_id)
            added = slot is None or (active.origin, active.path) != (slot.found.origin, slot.found.path)
            if slot is None:
                slot = self._slots[plugin_id] = PluginSlot(active)
            elif added:  # another folder provides this id now: the old one stops
                await self._unload(slot)
                slot.found, slot.fault, slot.broken = active, None, None
            elif slot.version is None:
                slot.found = active
            slot.shadowed = shadowed
            self._read_saved(slot, view)
            before, after = slot.settle(safe_mode=self.safe_mode)
            if added:
                self._emit(ev.PluginAdded(plugin_id, state=after.state))
                for problem in slot.found.problems:
                    self._emit(ev.ProblemReported(plugin_id, **problem.model_dump()))
                if after.state == "needs_review":
                    self._emit_review(slot)
            elif before.state != after.state:
                self._emit_state(slot, before)
            await self._sync(slot)
        for slot, update in updates:
            await self._apply_update(slot, update)

    def _read_saved(self, slot: PluginSlot, view: StateDB | StateSnapshot | None = None) -> None:
        view = view if view is not None else self.state
        slot.enabled_flag = view.enabled(slot.id)
        slot.grant = view.grant(slot.id)

    async def _sync(self, slot: PluginSlot) -> None:
        """Make the running version match the decision: load what may run, unload the rest."""
        state = slot.state
        if not self.load:  # headless: list what would run, so name conflicts show as in the window
            if state == "enabled" and slot.declared is None and slot.found.manifest is not None:
                slot.declared = self.registry.register_manifest(slot.found.manifest)
            elif state != "enabled" and slot.declared is not None:
                slot.declared()
                slot.declared = None
            return
        if state == "enabled" and slot.version is None and slot.fault is None:
            await self._load(slot)
        elif slot.version is not None and not slot.runnable and state not in ("failed", "crashed"):
            await self._unload(slot)

    # -- loading -----------------------------------------------------------------------
    def _new_version(self, slot: PluginSlot, found: DiscoveredPlugin) -> tuple[LoadedPlugin, RuntimeContext]:
        manifest = found.manifest
        assert manifest is not None
        version = LoadedPlugin(manifest, found.path.resolve(), found.origin)
        granted = slot.grant.scope if slot.grant is not None else Scope()
        preapproved = found.origin == "builtin"
        # Enforce exactly what was approved, never more than requested now.
        scope = manifest.scope if not review_needed(manifest.scope, granted, preapproved=preapproved) else granted
        plugin_log = self._bus.on_loop(functools.partial(self._plugin_log, manifest.id))
        host = HostApi(manifest.id, scope.allowed_apis, self.state.kv_store(manifest.id),
                       config=functools.partial(self._settings, manifest), log=plugin_log)
        ctx = RuntimeContext(
            manifest=manifest, root=version.path, scope=scope, host=host, log=plugin_log,
            register=version.registrar(self.registry, self.hooks),
            report_state=self._bus.on_loop(functools.partial(self._runtime_fault, slot, version)),
        )
        return version, ctx

    async def _load(self, slot: PluginSlot) -> None:
        async with slot.lock:
            if slot.version is not None:
                return
            version, ctx = self._new_version(slot, slot.found)
            try:
                await version.start(ctx)
            except AlephError as exc:
                self._fail(slot, exc.message)
                return
            except Exception as exc:  # a runtime bug must not take the app down
                log.exception("loading %s failed", slot.id)
                self._fail(slot, f"could not be loaded: {exc}")
                return
            version.activate(self.registry, self.hooks)
            slot.version = version

    async def _unload(self, slot: PluginSlot) -> None:
        async with slot.lock:
            version, slot.version, slot.pending = slot.version, None, None
            if version is None:
                return
            version.deactivate()
            swapped = self._epochs.advance()
            await self._epochs.drained(swapped)
            await version.retire()

    def _fail(self, slot: PluginSlot, reason: str) -> None:
        self._plugin_log(slot.id, "error", reason)
        self._set_fault(slot, "failed", reason)

    def _runtime_fault(self, slot: PluginSlot, version: LoadedPlugin, state: str, reason: str) -> None:
        if slot.version is version:  # a retired version's last words change nothing
            self._set_fault(slot, state, reason)

    def _set_fault(self, slot: PluginSlot, state: str, reason: str) -> None:
        slot.fault = (state, reason)
        before, after = slot.settle(safe_mode=self.safe_mode)
        if before.state != after.state:
            self._emit_state(slot, before)
            self._emit(ev.ProblemReported(slot.id, severity="error", file="", field="runtime", message=reason))

    # -- user actions ------------------------------------------------------------------
    async def enable(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.set_enabled(plugin_id, True)
        # Enabling again revives a failed / crashed plugin with a fresh runtime.
        if slot.fault is not None:
            slot.fault = None
            await self._unload(slot)
        return await self._refresh(slot)

    async def disable(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.set_enabled(plugin_id, False)
        return await self._refresh(slot)

    async def grant(self, plugin_id: str, scope: Scope | None = None) -> PluginInfo:
        """Approve `scope` (default: exactly what the newest version requests)."""
        slot = self._slot(plugin_id)
        if slot.found.manifest is None:
            raise PluginNotRunnable(plugin_id, f"its manifest could not be read ({slot.decision.reason})")
        self.state.set_grant(plugin_id, scope or slot.requested)
        if slot.pending is not None:
            return await self.reload(plugin_id)
        return await self._refresh(slot)

    async def deny(self, plugin_id: str) -> PluginInfo:
        """Refuse what a plugin asks for. An update that asked for more is dropped (the approved
        version keeps running; reloading asks again); a plugin never approved is turned off."""
        slot = self._slot(plugin_id)
        if slot.pending is not None:
            slot.pending = None
            before, _ = slot.settle(safe_mode=self.safe_mode)
            self._emit(ev.StateChanged(plugin_id, state=slot.state, previous=before.state,
                                       reason="you denied the update; the approved version keeps running"))
            return self.plugin(plugin_id)
        return await self.disable(plugin_id)

    async def revoke(self, plugin_id: str) -> PluginInfo:
        slot = self._slot(plugin_id)
        self.state.revoke(plugin_id)
        await self._unload(slot)
        return await self._refresh(slot)

    async def set_safe_mode(self, on: bool) -> list[PluginInfo]:
        """Safe mode: only builtin plugins run. Saved enabled flags are not touched."""
        if self.safe_mode != on:
            self.safe_mode = on
            await self._recompute_all()
        return self.plugins()

    async def reload(self, plugin_id: str) -> PluginInfo:
        """Re-read one plugin from disk. The new version is prepared before the old is retired;
        a broken or scope-widening new version leaves the old one running."""
        slot = self._slot(plugin_id)
        found = await asyncio.to_thread(load_one, slot.found.path, slot.found.origin)
        if found.valid and found.id != plugin_id:  # the id changed on disk: remove + add
            await self.discover()
            return self.plugin(found.id)
        slot.fault = None
        return await self._apply_update(slot, found)

    async def reload_all(self) -> list[PluginInfo]:
        await self.discover()
        for slot in [s for s in self._slots.values() if s.version is not None]:
            await self.reload(slot.id)
        return self.plugins()

    async def _apply_update(self, slot: PluginSlot, found: DiscoveredPlugin) -> PluginInfo:
        """Apply a re-read version of a plugin (`found` may be broken: then its id may differ)."""
        running = slot.version
        if not found.valid:
            if running is not None:
                slot.broken = found
                for problem in found.problems:
                    self._emit(ev.ProblemReported(slot.id, **problem.model_dump()))
                slot.settle(safe_mode=self.safe_mode)
                self._emit(ev.PluginChanged(slot.id, version=running.manifest.version))
                return self.plugin(slot.id)
            if found.id != slot.id:  # not running and now unreadable: list it under its new name
                await self.discover()
                return self.plugin(found.id)
            return await self._refresh(slot, found)
        slot.broken = None
        manifest = found.manifest
        assert manifest is not None
        self._read_saved(slot)
        granted = slot.grant.scope if slot.grant is not None else None
        if running is not None and review_needed(manifest.scope, granted, preapproved=found.origin == "builtin"):
            slot.pending = PendingUpdate(found, diff_scopes(granted, manifest.scope))
            before, _ = slot.settle(safe_mode=self.safe_mode)
            if before.state != "needs_review":
                self._emit_state(slot, before)
            else:
                self._emit_review(slot)
            self._emit(ev.PluginChanged(slot.id, version=running.manifest.version))
            return self.plugin(slot.id)
        slot.pending = None
        if running is None:
            return await self._refresh(slot, found)
        # Hot swap: prepare the new version, then switch registrations in one synchronous step.
        async with slot.lock:
            new, ctx = self._new_version(slot, found)
            try:
                await new.start(ctx)
            except AlephError as exc:
                slot.broken = found
                self._plugin_log(slot.id, "error", f"new version not loaded: {exc.message}")
                self._emit(ev.ProblemReported(slot.id, severity="error", file="", field="runtime",
                                              message=f"new version not loaded: {exc.message}"))
                slot.settle(safe_mode=self.safe_mode)
                return self.plugin(slot.id)
            running.deactivate()
            new.activate(self.registry, self.hooks)
            slot.version, slot.found = new, found
            swapped = self._epochs.advance()
            before, _ = slot.settle(safe_mode=self.safe_mode)
        if before.state != slot.state:
            self._emit_state(slot, before)
        self._emit(ev.PluginChanged(slot.id, version=manifest.version))
        await self._epochs.drained(swapped)
        await running.retire()
        return self.plugin(slot.id)

    async def _refresh(self, slot: PluginSlot, found: DiscoveredPlugin | None = None) -> PluginInfo:
        """Recompute one plugin's state (after a toggle, grant, revoke or a re-read) and follow it."""
        if found is not None:
            slot.found = found
        self._read_saved(slot)
        before, after = slot.settle(safe_mode=self.safe_mode)
        await self._sync(slot)
        if slot.decision != after:  # loading failed meanwhile: that change was announced already
            return self.plugin(slot.id)
        if after.state != before.state:
            self._emit_state(slot, before)
        else:
            self._emit(ev.PluginChanged(slot.id, version=slot.found.manifest.version if slot.found.manifest else ""))
        return self.plugin(slot.id)

    async def _follow_other_writers(self, version: int) -> None:
        """Another process (the CLI beside the GUI) changed grants or flags: follow it."""
        while True:
            await asyncio.sleep(STATE_POLL_S)
            now = self.state.data_version()
            if now != version:
                version = now
                try:
                    await self._recompute_all()
                except Exception:  # keep following; one bad refresh must not end it
                    log.exception("could not apply changes made by another process")

    async def _recompute_all(self) -> None:
        view = self.state.snapshot()
        for slot in list(self._slots.values()):
            self._read_saved(slot, view)
            before, after = slot.settle(safe_mode=self.safe_mode)
            if before.state != after.state:
                self._emit_state(slot, before)
            await self._sync(slot)

    # -- install / uninstall -----------------------------------------------------------
    async def install(self, source: str | Path, replace: bool = False) -> PluginInfo:
        """Copy a plugin folder or unpack a .zip into the user location. Runs no plugin code:
        a plugin that requests anything beyond `log` waits for review."""
        source = Path(source).expanduser()
        target_parent = self.locations.user_plugins
        staged_root, found = await asyncio.to_thread(stage, source, target_parent)
        target = target_parent / found.id
        existing = self._slots.get(found.id)
        replacing = existing is not None and any(
            e.origin == "user" for e in [existing.found, *existing.shadowed])
        if replacing and not replace:
            shutil.rmtree(staged_root, ignore_errors=True)
            raise InstallError(found.id, "a plugin with this id is already installed; use --replace")
        if existing is not None and replacing:
            await self._unload(existing)
        await asyncio.to_thread(move_into_place, staged_root, target, replace)
        await self.discover()
        if replacing:
            await self.reload(found.id)
        return self.plugin(found.id)

    async def uninstall(self, plugin_id: str) -> None:
        slot = self._slot(plugin_id)
        if slot.found.origin == "builtin":
            raise PluginNotRunnable(plugin_id, "builtin plugins cannot be uninstalled; disable it instead")
        await self._unload(slot)
        await asyncio.to_thread(shutil.rmtree, slot.found.path)
        self.state.forget(plugin_id)
        del self._slots[plugin_id]
        self._listing = [e for e in self._listing if e.path != slot.found.path]
        self._emit(ev.PluginRemoved(plugin_id))
        await self.discover()  # an overridden copy elsewhere becomes active

    # -- running plugin code -----------------------------------------------------------
    def _runnable(self, plugin_id: str) -> LoadedPlugin:
        slot = self._slots.get(plugin_id)
        if slot is None:
            raise UnknownPlugin(plugin_id, "no plugin with this id is installed")
        version = slot.version
        if version is not None and slot.decision.runnable:
            return version
        decision = slot.decision
        if decision.state == "needs_review" and not decision.runnable:
            raise ReviewRequired(plugin_id, decision.why_not)
        if decision.runnable:  # enabled, but nothing is loaded (loading is off, or it has no code)
            raise PluginNotRunnable(plugin_id, "is not loaded")
        raise PluginNotRunnable(plugin_id, decision.why_not)

    async def call_tool(self, plugin_id: str, tool: str, arguments: dict[str, Any] | None = None, *,
                        client: str = "") -> Any:
        """Call a plugin's tool; `client` names who asked (kept in the trace)."""
        version = self._runnable(plugin_id)
        arguments = arguments or {}
        cap = version.manifest.tool(tool)
        if cap is None:  # maybe registered by the running code (Node module shape)
            names = [r.name for r in self.registry.entries("tool", plugin_id)]
            if tool not in names:
                raise PluginCallError(plugin_id, f"has no tool '{tool}' (it has: {', '.join(names) or 'none'})")
        if version.runtime is None:
            raise PluginNotRunnable(plugin_id, "declares tools but has no code to run them")
        if cap is not None and cap.parameters:
            version.check_arguments(tool, cap.parameters, arguments)
        return await version.runtime.call_tool(tool, arguments)

    async def fire(self, event: str, data: dict[str, Any] | None = None, *, client: str = "") -> FireResult:
        """Run an event through every listening plugin; `client` names who asked (kept in the trace)."""
        name = canonical_event(event) or event
        epoch = self._epochs.enter()
        try:
            return await self.hooks.fire(name, data or {}, client)
        finally:
            self._epochs.leave(epoch)

    async def start_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "start_service")

    async def stop_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "stop_service")

    async def _service_action(self, plugin_id: str, name: str, action: str) -> None:
        version = self._runnable(plugin_id)
        if version.runtime is None or not hasattr(version.runtime.inner, action):
            raise PluginNotRunnable(plugin_id, "has no runtime that runs services")
        await getattr(version.runtime, action)(name)
        self._emit(ev.PluginChanged(plugin_id, version=version.manifest.version))

    def _settings(self, manifest: PluginManifest) -> dict[str, Any]:
        """A plugin version's settings: its manifest's defaults overlaid with the user's values."""
        return {**manifest.config_defaults, **self.state.config(manifest.id)}

    # -- events and logs ---------------------------------------------------------------
    def notify_skills_changed(self) -> None:
        """Skills folders changed on disk: listeners re-read `skills` (id '' = not one plugin)."""
        self._emit(ev.PluginChanged("", version=""))

    def _emit(self, event: ev.ChangeEvent) -> None:
        self._bus.emit(event)

    def _emit_state(self, slot: PluginSlot, before: Decision) -> None:
        self._emit(ev.StateChanged(slot.id, state=slot.state, previous=before.state, reason=slot.decision.reason))
        if slot.state == "needs_review":
            self._emit_review(slot)

    def _emit_review(self, slot: PluginSlot) -> None:
        diff = slot.review_diff()
        if diff is None:
            return
        self._emit(ev.ReviewRequired(slot.id, added=[p.model_dump() for p in diff.added],
                                     removed=[p.model_dump() for p in diff.removed],
                                     unchanged=[p.model_dump() for p in diff.unchanged]))

    def _plugin_log(self, plugin_id: str, level: str, message: str) -> None:
        slot = self._slots.get(plugin_id)
        line = slot.log_line(level, message) if slot is not None else ev.PluginLog(plugin_id, level=level,
                                                                                      message=message)
        self._emit(line)
