"""The manager's operations that run plugin code, for every client (the window, the CLI, the host's
gateways): tool calls through the hook chain, events, services, MCP servers' tools, CLI entries,
chat commands, providers, channels, HTTP routes, and the settings a running plugin reads.

A mixin of `ExtensionManager` (manager.py), which owns the slots, the registry and the executor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aleph_gui.core import invocations, tool_calls
from aleph_gui.core.errors import PluginNotRunnable, ReviewRequired, RouteNotFound, UnknownPlugin
from aleph_gui.core.events import PluginChanged
from aleph_gui.core.hook_events import canonical_event
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.invocations import CliOutcome, HttpAnswer
from aleph_gui.core.loader import LoadedPlugin
from aleph_gui.core.mcp import McpServerError
from aleph_gui.core.registry import PluginRegistry
from aleph_gui.core.settings import Settings, SettingsError, check_value, settings_of
from aleph_gui.core.slot import PluginSlot
from aleph_gui.core.state import StateDB

if TYPE_CHECKING:
    from aleph_gui.core.events import ChangeBus
    from aleph_gui.core.lifecycle import Lifecycle
    from aleph_gui.core.runtime.mcp_servers import McpTool


class PluginCalls:
    state: StateDB
    registry: PluginRegistry
    hooks: HookExecutor
    _slots: dict[str, PluginSlot]
    _life: Lifecycle
    _bus: ChangeBus

    def _slot(self, plugin_id: str) -> PluginSlot:
        slot = self._slots.get(plugin_id)
        if slot is None:
            raise UnknownPlugin(plugin_id, "no plugin with this id is installed")
        return slot

    def _runnable(self, plugin_id: str) -> LoadedPlugin:
        slot = self._slot(plugin_id)
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
        """Call a plugin's tool (or one of its MCP servers' tools) through the hook chain:
        `before_tool_call` may block it or rewrite its arguments, `after_tool_call` its result.
        `client` names who asked (kept in the trace)."""
        version = self._runnable(plugin_id)
        return await tool_calls.call_tool(version, self.registry, self.hooks, self.fire, tool, arguments or {},
                                          client)

    async def tools(self, plugin_id: str | None = None) -> list[tool_calls.ToolSpec]:
        """Every tool of every runnable plugin (or one), with its JSON Schema; plugins' MCP servers are
        started on first use to list theirs."""
        slots = [self._slot(plugin_id)] if plugin_id else list(self._slots.values())
        out: list[tool_calls.ToolSpec] = []
        for slot in slots:
            if slot.version is not None and slot.runnable:
                out += await tool_calls.tools_of(slot.version, self.registry)
        return out

    async def mcp_tools(self, plugin_id: str, server: str) -> list[McpTool]:
        """The tools of one of a plugin's MCP servers (started on first use)."""
        version = self._runnable(plugin_id)
        if version.mcp is None:
            raise McpServerError(plugin_id, f"has no MCP server named '{server}' (its servers: none)")
        return await version.mcp.tools(server)

    async def fire(self, event: str, data: dict[str, Any] | None = None, *, client: str = "") -> FireResult:
        """Run an event through every listening plugin; `client` names who asked (kept in the trace)."""
        name = canonical_event(event) or event
        epochs = self._life.epochs
        epoch = epochs.enter()
        try:
            return await self.hooks.fire(name, data or {}, client)
        finally:
            epochs.leave(epoch)

    async def start_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "start_service")

    async def stop_service(self, plugin_id: str, name: str) -> None:
        await self._service_action(plugin_id, name, "stop_service")

    async def _service_action(self, plugin_id: str, name: str, action: str) -> None:
        version = self._runnable(plugin_id)
        if version.runtime is None or not hasattr(version.runtime.inner, action):
            raise PluginNotRunnable(plugin_id, "has no runtime that runs services")
        await getattr(version.runtime, action)(name)
        self._bus.emit(PluginChanged(plugin_id, version=version.manifest.version))

    def services(self, plugin_id: str | None = None) -> list[dict[str, Any]]:
        """Every declared or registered service (of one plugin or all): plugin, name, state."""
        out = []
        for slot in [self._slot(plugin_id)] if plugin_id else self._slots.values():
            running = {}
            if slot.version is not None and slot.version.runtime is not None:
                running = slot.version.runtime.status().get("services", {})
            names = [c.name for c in slot.found.manifest.of_type("service")] if slot.found.manifest else []
            for name in dict.fromkeys([*names, *running]):
                out.append({"plugin": slot.id, "name": name, "state": running.get(name, "stopped"),
                            "plugin_state": slot.state})
        return out

    # -- what plugins register besides tools ----------------------------------------------------------
    async def run_cli(self, plugin_id: str, name: str, args: list[str], *, client: str = "") -> CliOutcome:
        """`aleph-ext run ID NAME [ARGS…]`: the plugin's CLI entry, with its output and exit code."""
        answer = await invocations.invoke(self._runnable(plugin_id), self.registry, self.hooks, "cli", name,
                                          {"args": list(args)}, client)
        return invocations.cli_outcome(answer)

    async def run_command(self, plugin_id: str, name: str, args: str = "", *, client: str = "") -> Any:
        """A chat command of the plugin (Aleph `[[commands]]`) with its argument text."""
        return await invocations.invoke(self._runnable(plugin_id), self.registry, self.hooks, "command", name,
                                        {"args": args}, client)

    async def ask_provider(self, plugin_id: str, name: str, prompt: str, *, client: str = "") -> str:
        """Ask a provider plugin to answer a prompt."""
        answer = await invocations.invoke(self._runnable(plugin_id), self.registry, self.hooks, "provider", name,
                                          {"prompt": prompt, "messages": [{"role": "user", "content": prompt}]},
                                          client)
        return invocations.provider_text(plugin_id, answer)

    async def send_message(self, plugin_id: str, channel: str, text: str, to: str = "", *,
                           client: str = "") -> Any:
        """Send a message through a channel plugin."""
        return await invocations.invoke(self._runnable(plugin_id), self.registry, self.hooks, "channel", channel,
                                        {"text": text, "to": to}, client)

    async def http_request(self, plugin_id: str, method: str, path: str, *, query: dict[str, Any] | None = None,
                           headers: dict[str, str] | None = None, body: Any = None, client: str = "") -> HttpAnswer:
        """Call the plugin's HTTP route for `method path` with `{method, path, query, headers, body}`."""
        version = self._runnable(plugin_id)
        route = invocations.route_of(self.registry, plugin_id, method, path)
        if route is None:
            raise RouteNotFound(plugin_id, f"has no HTTP route for {method.upper()} /{path.strip('/')}")
        answer = await invocations.invoke(version, self.registry, self.hooks, "http_route", route, {
            "method": method.upper(), "path": "/" + path.strip("/"), "query": query or {}, "headers": headers or {},
            "body": body}, client)
        return invocations.http_answer(plugin_id, answer)

    # -- settings -----------------------------------------------------------------------------------------
    def settings(self, plugin_id: str) -> Settings:
        manifest = self._slot(plugin_id).found.manifest
        if manifest is None:
            raise SettingsError(plugin_id, "its manifest could not be read, so its settings are unknown")
        return settings_of(manifest, self.state.config(plugin_id))

    async def set_setting(self, plugin_id: str, key: str, value: Any) -> Settings:
        """Validate against the plugin's config_schema, store, and hand to the running plugin."""
        current = self.settings(plugin_id)
        manifest = self._slot(plugin_id).found.manifest
        assert manifest is not None
        check_value(manifest, current.values, key, value)
        self.state.set_config(plugin_id, key, value)
        await self._settings_changed(plugin_id)
        return self.settings(plugin_id)

    async def unset_setting(self, plugin_id: str, key: str) -> Settings:
        """Back to the plugin's default."""
        self.settings(plugin_id)
        self.state.unset_config(plugin_id, key)
        await self._settings_changed(plugin_id)
        return self.settings(plugin_id)

    async def _settings_changed(self, plugin_id: str) -> None:
        """A Node.js plugin reads its settings live; a WASM plugin gets them when instantiated, so it is
        reloaded (a hot swap: the old version serves until the new one is ready)."""
        slot = self._slot(plugin_id)
        runtime = slot.version.runtime if slot.version is not None else None
        if runtime is not None and hasattr(runtime.inner, "settings_changed"):
            runtime.inner.settings_changed()
        elif runtime is not None:
            await self._life.apply_update(slot, slot.found)
        self._bus.emit(PluginChanged(plugin_id, version=slot.found.manifest.version if slot.found.manifest else ""))
