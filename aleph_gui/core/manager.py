"""ExtensionManager: discover -> validate -> review -> load -> register -> watch.

The only object the UI and the CLI talk to. It owns the state database, the registry, the hook
executor and one `LoadedPlugin` per running plugin, and tells subscribers about every change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import shutil
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_gui.core import events as ev
from aleph_gui.core.discovery import discover, load_one
from aleph_gui.core.errors import (
    AlephError,
    PluginCallError,
    PluginNotRunnable,
    ReviewRequired,
    UnknownPlugin,
)
from aleph_gui.core.hooks import FireResult, HookExecutor, TraceRow, canonical_event, to_record
from aleph_gui.core.install import InstallError, move_into_place, stage
from aleph_gui.core.inventory import DiscoveredPlugin, PluginInfo, build_inventory, review_needed
from aleph_gui.core.loader import LoadedPlugin, activate, prepare, runtime_registrar
from aleph_gui.core.paths import Locations
from aleph_gui.core.registry import PluginRegistry, Undo
from aleph_gui.core.runtime.base import RuntimeContext
from aleph_gui.core.scope import Scope, ScopeDiff, diff_scopes, is_covered
from aleph_gui.core.state import StateDB

log = logging.getLogger(__name__)

LOG_LINES_KEPT = 2000
AUDIT_FLUSH_S = 0.5
STATE_POLL_S = 0.5  # how soon a change made by another process (the CLI) shows up


class ExtensionManager:
    def __init__(self, locations: Locations, *, safe_mode: bool = False, watch: bool = False) -> None:
        self.locations = locations
        self.safe_mode = safe_mode
        self.watch = watch
        self.state = StateDB(locations.state_db)
        self.registry = PluginRegistry()
        self.hooks = HookExecutor(trace_sink=self._on_trace_rows)
        self._info_list: list[PluginInfo] = []
        self._active: dict[str, PluginInfo] = {}  # id -> the entry that is not overridden
        self._loaded: dict[str, LoadedPlugin] = {}
        self._runtime_state: dict[str, tuple[str, str]] = {}  # failed / crashed, with reason
        self._pending: dict[str, tuple[DiscoveredPlugin, ScopeDiff]] = {}  # updates waiting for review
        self._broken_update: dict[str, DiscoveredPlugin] = {}  # newer version on disk that failed to load
        self._subscribers: list[Callable[[ev.ChangeEvent], None]] = []
        self._logs: dict[str, deque[ev.PluginLog]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._audit: list[TraceRow] = []
        # Events in flight per handler-set epoch: a retired version is stopped only after every event
        # that could have picked its handlers (all epochs up to its swap) has finished.
        self._epoch = 0
        self._fires: Counter[int] = Counter()
        self._tasks: list[asyncio.Task[Any]] = []
        self._watcher: Any = None

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Discover every plugin, load those that may run, start the watcher when asked."""
        await self.discover()
        self._tasks.append(asyncio.create_task(self._flush_audit_forever(), name="audit-flush"))
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
        for plugin_id in list(self._loaded):
            await self._unload(plugin_id)
        self._flush_audit()
        self.state.close()

    async def __aenter__(self) -> ExtensionManager:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- reading -----------------------------------------------------------------------
    def plugins(self) -> list[PluginInfo]:
        return [self._decorate(info) for info in self._infos]

    def plugin(self, plugin_id: str) -> PluginInfo:
        info = self._active_info(plugin_id)
        return self._decorate(info)

    def pending_review(self, plugin_id: str) -> ScopeDiff | None:
        if plugin_id in self._pending:
            return self._pending[plugin_id][1]
        info = self._active_info(plugin_id)
        if info.state == "needs_review" and info.manifest:
            return diff_scopes(self._granted_scope(plugin_id), info.manifest.scope)
        return None

    def requested_scope(self, plugin_id: str) -> Scope:
        """What the newest version on disk asks for (an update waiting for review included)."""
        if plugin_id in self._pending:
            manifest = self._pending[plugin_id][0].manifest
            assert manifest is not None
            return manifest.scope
        return self._active_info(plugin_id).requested

    def logs(self, plugin_id: str) -> list[ev.PluginLog]:
        return list(self._logs.get(plugin_id, ()))

    def is_loaded(self, plugin_id: str) -> bool:
        return plugin_id in self._loaded

    def subscribe(self, callback: Callable[[ev.ChangeEvent], None]) -> Undo:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    @property
    def _infos(self) -> list[PluginInfo]:
        return self._info_list

    @_infos.setter
    def _infos(self, infos: list[PluginInfo]) -> None:
        self._info_list = infos
        self._active = {i.id: i for i in infos if i.state != "overridden"}

    def _active_info(self, plugin_id: str) -> PluginInfo:
        info = self._active.get(plugin_id)
        if info is None:
            raise UnknownPlugin(plugin_id, "no plugin with this id is installed")
        return info

    def _decorate(self, info: PluginInfo) -> PluginInfo:
        """A copy with what only the running manager knows: runtime state, registrations, conflicts."""
        info = dataclasses.replace(info)
        loaded = self._loaded.get(info.id) if info.state != "overridden" else None
        if info.id in self._runtime_state and info.state == "enabled":
            info.state, info.state_reason = self._runtime_state[info.id]
        if info.id in self._pending and info.state != "overridden":
            diff = self._pending[info.id][1]
            info.state = "needs_review"
            info.state_reason = (f"an update asks for more ({', '.join(p.text for p in diff.added)}); "
                                 "the previous version keeps running until you review it")
        if info.id in self._broken_update and info.state != "overridden":
            broken = self._broken_update[info.id]
            info.problems = list(broken.problems)
            info.state_reason = "the new version on disk is broken; the previous version keeps running"
        if loaded is not None:
            info.capabilities = [r.to_json() for r in self.registry.entries(plugin_id=info.id)]
            info.runtime = {"loaded": True, **(loaded.runtime.status() if loaded.runtime else {})}
        info.conflicts = self.registry.conflicts(info.id)
        info.grant = self.state.grant(info.id)
        return info

    # -- discovery ---------------------------------------------------------------------
    async def discover(self) -> list[PluginInfo]:
        """Rescan every location; load what may run, unload what went away."""
        found = await asyncio.to_thread(discover, self.locations)
        await self._apply_inventory(found)
        return self.plugins()

    async def _apply_inventory(self, found: list[DiscoveredPlugin]) -> None:
        old = {(i.id, i.origin, str(i.path)): i for i in self._infos}
        old_states = {i.id: i.state for i in self._infos if i.state != "overridden"}
        infos = build_inventory(found, self.state, safe_mode=self.safe_mode)
        # A running plugin whose files changed keeps its entry; the new version goes through the
        # hot-update path (prepared first, review when it asks for more, old kept when broken).
        updates: list[tuple[str, DiscoveredPlugin]] = []
        by_path = {f.path: f for f in found}
        old_by_path = {(i.origin, i.path): i for i in self._infos}
        running_at = {(lp.origin, lp.path): pid for pid, lp in self._loaded.items()}
        for n, info in enumerate(infos):
            pid = running_at.get((info.origin, info.path.resolve()))
            previous = old_by_path.get((info.origin, info.path))
            if pid is None or previous is None or info.state == "overridden":
                continue
            fresh = by_path[info.path]
            if not fresh.valid or (info.id == pid and info.manifest != self._loaded[pid].manifest):
                infos[n] = previous
                updates.append((pid, fresh))
        self._infos = infos
        new_keys = {(i.id, i.origin, str(i.path)) for i in self._infos}
        for key, info in old.items():
            if key not in new_keys and not any(i.id == info.id for i in self._infos):
                await self._unload(info.id)
                self._runtime_state.pop(info.id, None)
                self._pending.pop(info.id, None)
                self._broken_update.pop(info.id, None)
                self._emit(ev.PluginRemoved(info.id))
        for info in self._infos:
            if info.state == "overridden":
                continue
            if (info.id, info.origin, str(info.path)) not in old:
                self._emit(ev.PluginAdded(info.id, state=info.state))
                for problem in info.problems:
                    self._emit(ev.ProblemReported(info.id, **problem.model_dump()))
                if info.state == "needs_review":
                    self._emit_review(info.id)
            elif old_states.get(info.id) != info.state:
                self._emit(ev.StateChanged(info.id, state=info.state, previous=old_states.get(info.id, ""),
                                           reason=info.state_reason))
            await self._sync_loaded(info)
        for pid, update in updates:
            await self._apply_update(pid, update)

    async def _sync_loaded(self, info: PluginInfo) -> None:
        """Make the running set match the state word: load enabled plugins, unload the rest."""
        if info.state == "enabled" and info.id not in self._loaded and info.id not in self._runtime_state:
            await self._load(info)
        elif info.state != "enabled" and info.id in self._loaded:
            await self._unload(info.id)

    # -- loading -----------------------------------------------------------------------
    def _lock(self, plugin_id: str) -> asyncio.Lock:
        return self._locks.setdefault(plugin_id, asyncio.Lock())

    def _granted_scope(self, plugin_id: str) -> Scope | None:
        grant = self.state.grant(plugin_id)
        return grant.scope if grant else None

    def _context(self, found: PluginInfo | DiscoveredPlugin) -> RuntimeContext:
        manifest = found.manifest
        assert manifest is not None
        granted = manifest.scope if found.origin == "builtin" else (self._granted_scope(manifest.id) or Scope())
        # Enforce exactly what was approved, never more than requested now.
        scope = manifest.scope if is_covered(granted, manifest.scope) else granted
        holder: dict[str, LoadedPlugin] = {}
        ctx = RuntimeContext(
            manifest=manifest, root=found.path.resolve(), scope=scope, state=self.state,
            config={**manifest.config_defaults, **self.state.config(manifest.id)},
            log=functools.partial(self._plugin_log, manifest.id),
            register=runtime_registrar(self.registry, self.hooks, manifest, lambda: holder.get("loaded")),
            report_state=functools.partial(self._report_runtime_state, manifest.id),
        )
        ctx.holder = holder  # type: ignore[attr-defined]
        return ctx

    async def _prepare(self, found: PluginInfo | DiscoveredPlugin) -> LoadedPlugin:
        ctx = self._context(found)
        loaded = await prepare(ctx, found.origin)
        ctx.holder["loaded"] = loaded  # type: ignore[attr-defined]
        return loaded

    async def _load(self, info: PluginInfo) -> None:
        async with self._lock(info.id):
            if info.id in self._loaded:
                return
            try:
                loaded = await self._prepare(info)
            except AlephError as exc:
                self._fail(info.id, str(exc.message))
                return
            except Exception as exc:  # a runtime bug must not take the app down
                log.exception("loading %s failed", info.id)
                self._fail(info.id, f"could not be loaded: {exc}")
                return
            activate(loaded, self.registry, self.hooks)
            self._loaded[info.id] = loaded

    async def _unload(self, plugin_id: str) -> None:
        async with self._lock(plugin_id):
            loaded = self._loaded.pop(plugin_id, None)
            if loaded is None:
                return
            loaded.deactivate()
            swap_epoch, self._epoch = self._epoch, self._epoch + 1
            await self._events_drained(swap_epoch)
            await loaded.retire()

    def _fail(self, plugin_id: str, reason: str) -> None:
        self._plugin_log(plugin_id, "error", reason)
        self._report_runtime_state(plugin_id, "failed", reason)

    def _report_runtime_state(self, plugin_id: str, state: str, reason: str) -> None:
        previous = self._runtime_state.get(plugin_id, ("enabled", ""))[0]
        self._runtime_state[plugin_id] = (state, reason)
        if previous != state:
            self._emit(ev.StateChanged(plugin_id, state=state, previous=previous, reason=reason))
            self._emit(ev.ProblemReported(plugin_id, severity="error", file="", field="runtime", message=reason))

    # -- user actions ------------------------------------------------------------------
    async def enable(self, plugin_id: str) -> PluginInfo:
        self._active_info(plugin_id)
        self.state.set_enabled(plugin_id, True)
        # Enabling again revives a failed / crashed plugin with a fresh runtime.
        if self._runtime_state.pop(plugin_id, None) is not None:
            await self._unload(plugin_id)
        await self._refresh(plugin_id)
        return self.plugin(plugin_id)

    async def disable(self, plugin_id: str) -> PluginInfo:
        self._active_info(plugin_id)
        self.state.set_enabled(plugin_id, False)
        await self._refresh(plugin_id)
        return self.plugin(plugin_id)

    async def grant(self, plugin_id: str, scope: Scope | None = None) -> PluginInfo:
        """Approve `scope` (default: exactly what the newest version requests)."""
        self._active_info(plugin_id)
        self.state.set_grant(plugin_id, scope or self.requested_scope(plugin_id))
        if plugin_id in self._pending:
            await self.reload(plugin_id)
        else:
            await self._refresh(plugin_id)
        return self.plugin(plugin_id)

    async def deny(self, plugin_id: str) -> PluginInfo:
        """Refuse what a plugin asks for. An update that asked for more is dropped (the approved
        version keeps running; reloading asks again); a plugin never approved is turned off."""
        self._active_info(plugin_id)
        if self._pending.pop(plugin_id, None) is not None:
            info = self.plugin(plugin_id)
            self._emit(ev.StateChanged(plugin_id, state=info.state, previous="needs_review",
                                       reason="you denied the update; the approved version keeps running"))
            return info
        return await self.disable(plugin_id)

    async def set_safe_mode(self, on: bool) -> list[PluginInfo]:
        """Safe mode: only builtin plugins run. Saved enabled flags are not touched."""
        if self.safe_mode != on:
            self.safe_mode = on
            await self._recompute_all()
        return self.plugins()

    async def revoke(self, plugin_id: str) -> PluginInfo:
        self._active_info(plugin_id)
        self.state.revoke(plugin_id)
        await self._unload(plugin_id)
        await self._refresh(plugin_id)
        return self.plugin(plugin_id)

    async def reload(self, plugin_id: str) -> PluginInfo:
        """Re-read one plugin from disk. The new version is prepared before the old is retired;
        a broken or scope-widening new version leaves the old one running."""
        info = self._active_info(plugin_id)
        found = await asyncio.to_thread(load_one, info.path, info.origin)
        if found.valid and found.id != plugin_id:  # the id changed on disk: remove + add
            await self.discover()
            return self.plugin(found.id)
        self._runtime_state.pop(plugin_id, None)
        return await self._apply_update(plugin_id, found)

    async def _apply_update(self, plugin_id: str, found: DiscoveredPlugin) -> PluginInfo:
        """Apply a re-read version of a plugin (`found` may be broken: then its id may differ)."""
        running = self._loaded.get(plugin_id)
        if not found.valid:
            if running is not None:
                self._broken_update[plugin_id] = found
                for problem in found.problems:
                    self._emit(ev.ProblemReported(plugin_id, **problem.model_dump()))
                self._emit(ev.PluginChanged(plugin_id, version=running.manifest.version))
                return self.plugin(plugin_id)
            if found.id != plugin_id:  # not running and now unreadable: list it under its new name
                await self.discover()
                return self.plugin(found.id)
            return await self._refresh(plugin_id, found)
        self._broken_update.pop(plugin_id, None)
        assert found.manifest is not None
        grant = self.state.grant(plugin_id)
        if running is not None and review_needed(found.manifest, found.origin, grant):
            diff = diff_scopes(grant.scope if grant else None, found.manifest.scope)
            self._pending[plugin_id] = (found, diff)
            self._emit_review(plugin_id)
            self._emit(ev.PluginChanged(plugin_id, version=running.manifest.version))
            return self.plugin(plugin_id)
        self._pending.pop(plugin_id, None)
        if running is None:
            return await self._refresh(plugin_id, found)
        # Hot swap: prepare the new version, then switch registrations in one synchronous step.
        async with self._lock(plugin_id):
            try:
                new = await self._prepare(found)
            except AlephError as exc:
                self._broken_update[plugin_id] = found
                self._plugin_log(plugin_id, "error", f"new version not loaded: {exc.message}")
                self._emit(ev.ProblemReported(plugin_id, severity="error", file="", field="runtime",
                                              message=f"new version not loaded: {exc.message}"))
                return self.plugin(plugin_id)
            old = self._loaded[plugin_id]
            old.deactivate()
            activate(new, self.registry, self.hooks)
            self._loaded[plugin_id] = new
            swap_epoch, self._epoch = self._epoch, self._epoch + 1
            self._replace_info(found)
        self._emit(ev.PluginChanged(plugin_id, version=found.manifest.version))
        await self._events_drained(swap_epoch)
        await old.retire()
        return self.plugin(plugin_id)

    async def reload_all(self) -> list[PluginInfo]:
        await self.discover()
        for plugin_id in list(self._loaded):
            await self.reload(plugin_id)
        return self.plugins()

    async def _refresh(self, plugin_id: str, found: DiscoveredPlugin | None = None) -> PluginInfo:
        """Recompute one plugin's state (after a toggle, grant, revoke or a re-read) and follow it."""
        if found is not None:
            self._replace_info(found)
        before = self._active_info(plugin_id).state
        infos = build_inventory(self._discovered(), self.state, safe_mode=self.safe_mode)
        self._infos = infos
        info = self._active_info(plugin_id)
        await self._sync_loaded(info)
        after = self.plugin(plugin_id)
        if after.state != before:
            self._emit(ev.StateChanged(plugin_id, state=after.state, previous=before, reason=after.state_reason))
            if after.state == "needs_review":
                self._emit_review(plugin_id)
        else:
            self._emit(ev.PluginChanged(plugin_id, version=after.version))
        return after

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
        before = {i.id: i.state for i in self._infos if i.state != "overridden"}
        self._infos = build_inventory(self._discovered(), self.state, safe_mode=self.safe_mode)
        for info in list(self._active.values()):
            await self._sync_loaded(info)
            after = self.plugin(info.id)
            if after.state != before.get(info.id):
                self._emit(ev.StateChanged(info.id, state=after.state, previous=before.get(info.id, ""),
                                           reason=after.state_reason))
                if after.state == "needs_review":
                    self._emit_review(info.id)

    def _discovered(self) -> list[DiscoveredPlugin]:
        return [DiscoveredPlugin(id=i.id, path=i.path, origin=i.origin, manifest=i.manifest,
                                 problems=i.problems, format=i.format) for i in self._infos]

    def _replace_info(self, found: DiscoveredPlugin) -> None:
        fresh = build_inventory([found], self.state, safe_mode=self.safe_mode)[0]
        infos = [i for i in self._infos if not (i.path == found.path and i.origin == found.origin)]
        position = next((n for n, i in enumerate(self._infos)
                         if i.path == found.path and i.origin == found.origin), len(infos))
        infos.insert(position, fresh)
        self._infos = infos  # the setter re-indexes active plugins

    def _emit_review(self, plugin_id: str) -> None:
        diff = self.pending_review(plugin_id)
        if diff is None:
            return
        self._emit(ev.ReviewRequired(plugin_id, added=[p.model_dump() for p in diff.added],
                                     removed=[p.model_dump() for p in diff.removed],
                                     unchanged=[p.model_dump() for p in diff.unchanged]))

    # -- install / uninstall -----------------------------------------------------------
    async def install(self, source: str | Path, replace: bool = False) -> PluginInfo:
        """Copy a plugin folder or unpack a .zip into the user location. Runs no plugin code:
        a plugin that requests anything beyond `log` waits for review."""
        source = Path(source).expanduser()
        target_parent = self.locations.user_plugins
        staged_root, found = await asyncio.to_thread(stage, source, target_parent)
        target = target_parent / found.id
        existing = [i for i in self._infos if i.id == found.id and i.origin == "user"]
        if existing and not replace:
            shutil.rmtree(staged_root, ignore_errors=True)
            raise InstallError(found.id, "a plugin with this id is already installed; use --replace")
        if existing:
            await self._unload(found.id)
        await asyncio.to_thread(move_into_place, staged_root, target, replace)
        await self.discover()
        if existing:
            await self.reload(found.id)
        return self.plugin(found.id)

    async def uninstall(self, plugin_id: str) -> None:
        info = self._active_info(plugin_id)
        if info.origin == "builtin":
            raise PluginNotRunnable(plugin_id, "builtin plugins cannot be uninstalled; disable it instead")
        await self._unload(plugin_id)
        await asyncio.to_thread(shutil.rmtree, info.path)
        self.state.forget(plugin_id)
        self._runtime_state.pop(plugin_id, None)
        self._pending.pop(plugin_id, None)
        self._broken_update.pop(plugin_id, None)
        self._infos = [i for i in self._infos if i.path != info.path]
        self._emit(ev.PluginRemoved(plugin_id))
        await self.discover()  # an overridden copy elsewhere becomes active

    # -- running plugin code -----------------------------------------------------------
    def _runnable(self, plugin_id: str) -> LoadedPlugin:
        loaded = self._loaded.get(plugin_id)
        # Fast path for every tool call: building the full PluginInfo (copy, status, grant query)
        # costs more than the call itself for Node plugins.
        if loaded is not None and plugin_id not in self._runtime_state and \
                self._active_info(plugin_id).state == "enabled":
            return loaded
        info = self.plugin(plugin_id)
        if loaded is not None and info.state in ("enabled", "needs_review"):
            return loaded  # needs_review here = an update waits; the approved version runs
        if info.state == "needs_review":
            raise ReviewRequired(plugin_id, f"its permissions have not been approved; review them first "
                                            f"(aleph-ext grant {plugin_id})")
        reason = f" ({info.state_reason})" if info.state_reason else ""
        raise PluginNotRunnable(plugin_id, f"is {info.state}{reason}")

    async def call_tool(self, plugin_id: str, tool: str, arguments: dict[str, Any] | None = None) -> Any:
        loaded = self._runnable(plugin_id)
        arguments = arguments or {}
        cap = loaded.manifest.tool(tool)
        if cap is None:  # maybe registered by the running code (Node module shape)
            names = [r.name for r in self.registry.entries("tool", plugin_id)]
            if tool not in names:
                raise PluginCallError(plugin_id, f"has no tool '{tool}' (it has: {', '.join(names) or 'none'})")
        if loaded.runtime is None:
            raise PluginNotRunnable(plugin_id, "declares tools but has no code to run them")
        if cap is not None and cap.parameters:
            loaded.check_arguments(tool, cap.parameters, arguments)
        return await loaded.runtime.call_tool(tool, arguments)

    async def fire(self, event: str, data: dict[str, Any] | None = None) -> FireResult:
        name = canonical_event(event) or event
        epoch = self._epoch
        self._fires[epoch] += 1
        try:
            return await self.hooks.fire(name, data or {})
        finally:
            self._fires[epoch] -= 1
            if not self._fires[epoch]:
                del self._fires[epoch]

    async def _events_drained(self, up_to_epoch: int, timeout: float = 35.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while any(e <= up_to_epoch for e in self._fires) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.005)

    async def start_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "start_service")

    async def stop_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "stop_service")

    async def _service_action(self, plugin_id: str, name: str, action: str) -> None:
        loaded = self._runnable(plugin_id)
        if loaded.runtime is None or not hasattr(loaded.runtime.inner, action):
            raise PluginNotRunnable(plugin_id, "has no runtime that runs services")
        await getattr(loaded.runtime, action)(name)
        self._emit(ev.PluginChanged(plugin_id, version=loaded.manifest.version))

    # -- events, logs, audit -----------------------------------------------------------
    def notify_skills_changed(self) -> None:
        """Skills folders changed on disk: listeners re-read `skills` (id '' = not one plugin)."""
        self._emit(ev.PluginChanged("", version=""))

    def _emit(self, event: ev.ChangeEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # a broken subscriber must not stop the others
                log.exception("change subscriber failed on %s", event.type)

    def _plugin_log(self, plugin_id: str, level: str, message: str) -> None:
        line = ev.PluginLog(plugin_id, level=level, message=message)
        self._logs.setdefault(plugin_id, deque(maxlen=LOG_LINES_KEPT)).append(line)
        self._emit(line)

    def _on_trace_rows(self, rows: list[TraceRow]) -> None:
        """Every handler call of one event: kept for the audit log, streamed to subscribers."""
        self._audit.extend(rows)
        if self._subscribers:
            for t, event, plugin, handler, decision, duration_ns, err, keys in rows:
                self._emit(ev.HookTraced(plugin, event=event, handler=handler, decision=decision,
                                         duration_us=duration_ns // 1000, error=err or None,
                                         modified_keys=list(keys), time=t))

    def _flush_audit(self) -> None:
        rows, self._audit = self._audit, []
        if rows:
            try:
                self.state.append_audit(to_record(r).to_json() for r in rows)
            except Exception:
                log.exception("could not write %d hook audit rows", len(rows))

    async def _flush_audit_forever(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_FLUSH_S)
            if self._audit:
                await asyncio.to_thread(self._flush_audit)

