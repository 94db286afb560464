"""Keeps the plugin slots in step with the disk and the saved state: discovery, load, unload, hot swap.

The manager's public API (manager.py) asks; this module does the work and announces each change.
Everything here runs on the manager's loop thread; runtime reports from worker threads arrive through
`bus.on_loop`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aleph_gui.core import events as ev
from aleph_gui.core.code_digest import CodeDigests
from aleph_gui.core.discovery import discover
from aleph_gui.core.epochs import EventEpochs
from aleph_gui.core.errors import AlephError
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.host_api import HostApi
from aleph_gui.core.inventory import DiscoveredPlugin
from aleph_gui.core.loader import LoadedPlugin
from aleph_gui.core.manifest.model import ORIGIN_RANK, PluginManifest
from aleph_gui.core.paths import Locations
from aleph_gui.core.registry import PluginRegistry
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.scope import diff_scopes
from aleph_gui.core.slot import Decision, PendingUpdate, PluginSlot
from aleph_gui.core.state import StateDB, StateSnapshot

log = logging.getLogger(__name__)


class Lifecycle:
    def __init__(self, locations: Locations, state: StateDB, registry: PluginRegistry, hooks: HookExecutor,
                 bus: ev.ChangeBus, fire: Callable[..., Awaitable[FireResult]], *, load: bool,
                 safe_mode: bool) -> None:
        self.fire = fire  # the manager's: events a plugin emits run the whole chain
        self.locations = locations
        self.state = state
        self.registry = registry
        self.hooks = hooks
        self.bus = bus
        self.load_code = load  # False: decide states only, never run plugin code
        self.safe_mode = safe_mode
        self.slots: dict[str, PluginSlot] = {}
        self.listing: list[DiscoveredPlugin] = []  # every folder found, in list order
        self.epochs = EventEpochs()
        self.digests = CodeDigests()
        # One rescan at a time: two installs dropped together must not apply an older discovery last.
        self._rescan_lock = asyncio.Lock()
        self._rescanning: asyncio.Task[Any] | None = None

    def emit(self, event: ev.ChangeEvent) -> None:
        self.bus.emit(event)

    async def rescan(self) -> None:
        """Rescan every location; load what may run, unload what went away."""
        if self._rescanning is not None and self._rescanning is asyncio.current_task():
            await self._discover_and_apply()  # a rescan's own update asked for one: already serialized
            return
        async with self._rescan_lock:
            self._rescanning = asyncio.current_task()
            try:
                await self._discover_and_apply()
            finally:
                self._rescanning = None

    async def _discover_and_apply(self) -> None:
        found = await asyncio.to_thread(discover, self.locations) if self.load_code else discover(self.locations)
        await self.apply(found)

    async def apply(self, found: list[DiscoveredPlugin]) -> None:
        """Make the slots match a fresh discovery."""
        view = self.state.snapshot()
        # A running plugin whose files changed keeps its entry; the new version goes through the
        # hot-update path (prepared first, review when it asks for more, old kept when broken).
        running_at = {(s.version.origin, s.version.path): s for s in self.slots.values() if s.version}
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
        self.listing = listing
        for plugin_id in [p for p in self.slots if p not in groups]:
            await self.unload(self.slots.pop(plugin_id))
            self.emit(ev.PluginRemoved(plugin_id))
        for plugin_id, (active, *shadowed) in groups.items():
            slot = self.slots.get(plugin_id)
            added = slot is None or (active.origin, active.path) != (slot.found.origin, slot.found.path)
            if slot is None:
                slot = self.slots[plugin_id] = PluginSlot(active)
            elif added:  # another folder provides this id now: the old one stops
                await self.unload(slot)
                slot.found, slot.fault, slot.broken = active, None, None
            elif slot.version is None:
                slot.found = active
            slot.shadowed = shadowed
            self.read_saved(slot, view)
            before, after = slot.settle(safe_mode=self.safe_mode)
            if added:
                self.emit(ev.PluginAdded(plugin_id, state=after.state))
                for problem in slot.found.problems:
                    self.emit(ev.ProblemReported(plugin_id, **problem.model_dump()))
                if after.state == "needs_review":
                    self.emit_review(slot)
            elif before.state != after.state:
                self.emit_state(slot, before)
            await self.sync(slot)
        for slot, update in updates:
            await self.apply_update(slot, update)

    def read_saved(self, slot: PluginSlot, view: StateDB | StateSnapshot | None = None) -> None:
        view = view if view is not None else self.state
        slot.enabled_flag = view.enabled(slot.id)
        found = slot.found
        slot.grant = view.grant(slot.id, lambda: found.identity)
        project = self.locations.project
        slot.trust_folder = str(project) if slot.found.origin == "project" and project is not None else None
        slot.trusted = slot.trust_folder is None or view.trusted(slot.trust_folder)

    async def sync(self, slot: PluginSlot) -> None:
        """Make the running version match the decision: load what may run, unload the rest."""
        state = slot.state
        if not self.load_code:  # headless: list what would run, so name conflicts show as in the window
            if state == "enabled" and slot.declared is None and slot.found.manifest is not None:
                slot.declared = self.registry.register_manifest(slot.found.manifest)
            elif state != "enabled" and slot.declared is not None:
                slot.declared()
                slot.declared = None
            return
        if state == "enabled" and slot.version is None and slot.fault is None:
            await self.load(slot)
        elif slot.version is not None and not slot.runnable and state not in ("failed", "crashed"):
            await self.unload(slot)

    def new_version(self, slot: PluginSlot, found: DiscoveredPlugin) -> tuple[LoadedPlugin, RuntimeContext]:
        manifest = found.manifest
        assert manifest is not None
        version = LoadedPlugin(manifest, found.path.resolve(), found.origin)
        scope = slot.granted_scope(found)
        plugin_log = self.bus.on_loop(functools.partial(self.plugin_log, manifest.id))
        host = HostApi(manifest.id, scope.allowed_apis, self.state.kv_store(manifest.id, found.identity),
                       config=functools.partial(self.settings, manifest), log=plugin_log,
                       emit=functools.partial(self.emitted, manifest.id))
        ctx = RuntimeContext(
            manifest=manifest, root=version.path, scope=scope, host=host, log=plugin_log,
            register=version.registrar(self.registry, self.hooks),
            report_state=self.bus.on_loop(functools.partial(self.runtime_fault, slot, version)),
        )
        return version, ctx

    async def load(self, slot: PluginSlot) -> None:
        async with slot.lock:
            if slot.version is not None:
                return
            version, ctx = self.new_version(slot, slot.found)
            try:
                await version.start(ctx)
            except AlephError as exc:
                self.fail(slot, exc.message)
                return
            except Exception as exc:  # a runtime bug must not take the app down
                log.exception("loading %s failed", slot.id)
                self.fail(slot, f"could not be loaded: {exc}")
                return
            version.activate(self.registry, self.hooks)
            slot.version = version
        await self.check_code(slot)

    async def check_code(self, slot: PluginSlot) -> None:
        """Compare the code on disk with the code that was approved (the window and `show` say when
        it changed since); announced when the note changes."""
        grant = slot.grant
        if grant is None or not grant.code_digest or slot.preapproved:
            return
        before = slot.approval_note()
        slot.code_digest = await asyncio.to_thread(self.digests.of, slot.found.path.resolve())
        if slot.approval_note() != before:
            self.emit(ev.PluginChanged(slot.id, version=slot.found.manifest.version if slot.found.manifest else ""))

    async def unload(self, slot: PluginSlot) -> None:
        async with slot.lock:
            version, slot.version, slot.pending = slot.version, None, None
            if version is None:
                return
            version.deactivate()
            swapped = self.epochs.advance()
            await self.epochs.drained(swapped)
            await version.retire()

    def fail(self, slot: PluginSlot, reason: str) -> None:
        self.plugin_log(slot.id, "error", reason)
        self.set_fault(slot, "failed", reason)

    def runtime_fault(self, slot: PluginSlot, version: LoadedPlugin, state: str, reason: str) -> None:
        if slot.version is version:  # a retired version's last words change nothing
            self.set_fault(slot, state, reason)

    def set_fault(self, slot: PluginSlot, state: str, reason: str) -> None:
        slot.fault = (state, reason)
        before, after = slot.settle(safe_mode=self.safe_mode)
        if before.state != after.state:
            self.emit_state(slot, before)
            self.emit(ev.ProblemReported(slot.id, severity="error", file="", field="runtime", message=reason))

    async def apply_update(self, slot: PluginSlot, found: DiscoveredPlugin) -> str:
        """Apply a re-read version of a plugin (`found` may be broken: then its id may differ).
        Returns the id the plugin is listed under afterwards."""
        running = slot.version
        if not found.valid:
            if running is not None:
                slot.broken = found
                for problem in found.problems:
                    self.emit(ev.ProblemReported(slot.id, **problem.model_dump()))
                slot.settle(safe_mode=self.safe_mode)
                self.emit(ev.PluginChanged(slot.id, version=running.manifest.version))
                return slot.id
            if found.id != slot.id:  # not running and now unreadable: list it under its new name
                await self.rescan()
                return found.id
            return await self.refresh(slot, found)
        slot.broken = None
        manifest = found.manifest
        assert manifest is not None
        self.read_saved(slot)
        unapproved = slot.approval_problem(found)
        if running is not None and unapproved is not None:
            granted = slot.grant.scope if slot.grant is not None else None
            slot.pending = PendingUpdate(found, diff_scopes(granted, manifest.scope), unapproved)
            before, _ = slot.settle(safe_mode=self.safe_mode)
            if before.state != "needs_review":
                self.emit_state(slot, before)
            else:
                self.emit_review(slot)
            self.emit(ev.PluginChanged(slot.id, version=running.manifest.version))
            return slot.id
        slot.pending = None
        if running is None:
            return await self.refresh(slot, found)
        # Hot swap: prepare the new version, then switch registrations in one synchronous step.
        async with slot.lock:
            running = slot.version  # again: another update or an unload may have run while we waited
            if running is not None:
                new, ctx = self.new_version(slot, found)
                try:
                    await new.start(ctx)
                except AlephError as exc:
                    slot.broken = found
                    self.plugin_log(slot.id, "error", f"new version not loaded: {exc.message}")
                    self.emit(ev.ProblemReported(slot.id, severity="error", file="", field="runtime",
                                                  message=f"new version not loaded: {exc.message}"))
                    slot.settle(safe_mode=self.safe_mode)
                    return slot.id
                running.deactivate()
                new.activate(self.registry, self.hooks)
                slot.version, slot.found = new, found
                swapped = self.epochs.advance()
                before, _ = slot.settle(safe_mode=self.safe_mode)
        if running is None:
            return await self.refresh(slot, found)
        if before.state != slot.state:
            self.emit_state(slot, before)
        self.emit(ev.PluginChanged(slot.id, version=manifest.version))
        await self.epochs.drained(swapped)
        await running.retire()
        return slot.id

    async def refresh(self, slot: PluginSlot, found: DiscoveredPlugin | None = None) -> str:
        """Recompute one plugin's state (after a toggle, grant, revoke or a re-read) and follow it."""
        if found is not None:
            slot.found = found
        self.read_saved(slot)
        before, after = slot.settle(safe_mode=self.safe_mode)
        await self.sync(slot)
        if slot.decision != after:  # loading failed meanwhile: that change was announced already
            return slot.id
        if after.state != before.state:
            self.emit_state(slot, before)
        else:
            self.emit(ev.PluginChanged(slot.id, version=slot.found.manifest.version if slot.found.manifest else ""))
        return slot.id

    async def recompute_all(self) -> None:
        view = self.state.snapshot()
        for slot in list(self.slots.values()):
            self.read_saved(slot, view)
            before, after = slot.settle(safe_mode=self.safe_mode)
            if before.state != after.state:
                self.emit_state(slot, before)
            elif before != after:  # the same state for another reason (a trusted folder, say): shown anew
                self.emit(ev.PluginChanged(slot.id, version=slot.found.manifest.version if slot.found.manifest else ""))
            await self.sync(slot)

    def emit_state(self, slot: PluginSlot, before: Decision) -> None:
        self.emit(ev.StateChanged(slot.id, state=slot.state, previous=before.state, reason=slot.decision.reason))
        if slot.state == "needs_review":
            self.emit_review(slot)

    def emit_review(self, slot: PluginSlot) -> None:
        diff = slot.review_diff()
        if diff is None:
            return
        self.emit(ev.ReviewRequired(slot.id, added=[p.model_dump() for p in diff.added],
                                     removed=[p.model_dump() for p in diff.removed],
                                     unchanged=[p.model_dump() for p in diff.unchanged]))

    def plugin_log(self, plugin_id: str, level: str, message: str) -> None:
        slot = self.slots.get(plugin_id)
        line = slot.log_line(level, message) if slot is not None else ev.PluginLog(plugin_id, level=level,
                                                                                      message=message)
        self.emit(line)

    async def emitted(self, plugin_id: str, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """An event a plugin emits through the host API (a channel's incoming message) runs the chain."""
        result = await self.fire(event, data, client=f"plugin:{plugin_id}")
        return {"decision": result.decision, "data": result.data, "reason": result.reason}

    def settings(self, manifest: PluginManifest) -> dict[str, Any]:
        """A plugin version's settings: its manifest's defaults overlaid with the user's values."""
        return {**manifest.config_defaults, **self.state.config(manifest.id)}
