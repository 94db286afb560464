"""THE table of operations: every manager operation a client can ask for, by name.

`OPERATIONS[name].handler(manager, params, client)` -> a JSON-able result. The host's endpoint serves
this table; the CLI runs the same table in-process when no host runs, and builds its output from these
results in one place (`cli_output`), so output and exit codes are the same either way. Adding an
operation is one `@operation(...)` function here.

Errors are `AlephError`s (one sentence); bad params raise `InvalidParams`. `client` names who asked
("cli", "window", an agent's name) and is passed to the manager where it is recorded (tool calls, events).
Paths in params are absolute: the host's working folder is not the caller's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from aleph_gui.core.errors import AlephError, UnknownPlugin

if TYPE_CHECKING:
    from aleph_gui.core.inventory import PluginInfo
    from aleph_gui.core.manager import ExtensionManager

Handler = Callable[["ExtensionManager", dict[str, Any], str], Awaitable[Any]]
Uses = Literal["locations", "inventory", "plugins"]


class InvalidParams(AlephError):
    """The params of an operation are missing or of the wrong type."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass(frozen=True)
class Operation:
    name: str
    handler: Handler
    # What the CLI builds to run it in-process (no host): "plugins" = a started manager that loads plugins;
    # "inventory" = a headless manager that discovers and decides states but runs no plugin code (fast, no
    # runtime imported); "locations" = a headless manager before discovery (the operation reads disk itself).
    uses: Uses
    summary: str


OPERATIONS: dict[str, Operation] = {}


def operation(name: str, *, uses: Uses, summary: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in OPERATIONS:
            raise ValueError(f"operation '{name}' is defined twice")
        OPERATIONS[name] = Operation(name, handler, uses, summary)
        return handler

    return register


# -- params --------------------------------------------------------------------------------------


def text(params: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = params.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidParams(f"'{key}' must be a non-empty string")
    return value


def json_object(params: dict[str, Any], key: str) -> dict[str, Any]:
    value = params.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParams(f"'{key}' must be a JSON object, not {type(value).__name__}")
    return value


def flag(params: dict[str, Any], key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise InvalidParams(f"'{key}' must be true or false")
    return value


def absolute_path(params: dict[str, Any], key: str) -> Path:
    path = Path(text(params, key)).expanduser()
    if not path.is_absolute():
        raise InvalidParams(f"'{key}' must be an absolute path (the host does not share your working folder)")
    return path


def known_plugin(manager: ExtensionManager, plugin_id: str) -> PluginInfo:
    try:
        return manager.plugin(plugin_id)
    except UnknownPlugin:
        raise UnknownPlugin(None, f"unknown plugin '{plugin_id}'") from None


def plugin_doc(info: PluginInfo) -> dict[str, Any]:
    return info.to_json()


# -- inventory -----------------------------------------------------------------------------------


@operation("list", uses="inventory", summary="every discovered plugin")
async def op_list(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return {"plugins": [i.to_json() for i in manager.plugins()],
            "looked_in": [str(root) for _, root in manager.locations.plugin_roots()]}


@operation("show", uses="inventory", summary="one plugin in full, with requested and granted scope")
async def op_show(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    shadowed = [i for i in manager.plugins() if i.id == info.id and i.path != info.path]
    doc = info.to_json()
    doc["overrides"] = [{"origin": i.origin, "path": str(i.path)} for i in shadowed]
    doc["scope"]["enforcement"] = {r.key: r.sentence for r in info.permissions if r.requested}
    doc["scope"]["needs_approval"] = info.needs_approval
    doc["scope"]["granted_permissions"] = (
        [p.model_dump() for p in info.grant.scope.permissions()] if info.grant is not None else None)
    doc["manifest"] = info.manifest.model_dump(mode="json") if info.manifest else None
    return doc


@operation("enable", uses="inventory", summary="turn a plugin on (saved)")
async def op_enable(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    return {"plugin": plugin_doc(await manager.enable(info.id))}


@operation("disable", uses="inventory", summary="turn a plugin off (saved)")
async def op_disable(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    return {"plugin": plugin_doc(await manager.disable(info.id))}


@operation("grant", uses="inventory", summary="approve exactly what a plugin requests now")
async def op_grant(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    info = await manager.grant(info.id)
    granted = info.grant.scope.permissions() if info.grant is not None else []
    return {"plugin": plugin_doc(info), "granted": [p.text for p in granted]}


@operation("revoke", uses="inventory", summary="withdraw a plugin's approved scope")
async def op_revoke(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    had_grant = info.grant is not None
    return {"plugin": plugin_doc(await manager.revoke(info.id)), "had_grant": had_grant}


@operation("deny", uses="inventory", summary="refuse what a plugin asks for (an update waiting for review)")
async def op_deny(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = known_plugin(manager, text(params, "id"))
    return {"plugin": plugin_doc(await manager.deny(info.id))}


@operation("reload", uses="plugins", summary="re-read one plugin from disk (or every plugin, without 'id')")
async def op_reload(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    plugin_id = text(params, "id", required=False)
    if not plugin_id:
        return {"plugins": [plugin_doc(i) for i in await manager.reload_all()]}
    info = known_plugin(manager, plugin_id)
    return {"plugin": plugin_doc(await manager.reload(info.id))}


@operation("install", uses="plugins", summary="install a plugin folder or .zip into the user location")
async def op_install(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    info = await manager.install(absolute_path(params, "path"), replace=flag(params, "replace"))
    return {"plugin": plugin_doc(info)}


@operation("uninstall", uses="plugins", summary="remove a plugin from the user location")
async def op_uninstall(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    plugin_id = text(params, "id")
    await manager.uninstall(plugin_id)
    return {"id": plugin_id}


# -- running plugin code ---------------------------------------------------------------------------


@operation("call", uses="plugins", summary="call a plugin's tool")
async def op_call(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return await manager.call_tool(text(params, "plugin"), text(params, "tool"), json_object(params, "arguments"),
                                   client=client)


@operation("fire", uses="plugins", summary="run the hook chain for an event")
async def op_fire(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    result = await manager.fire(text(params, "event"), json_object(params, "data"), client=client)
    return result.to_json()


def _services(info: PluginInfo) -> dict[str, str]:
    """name -> state: what the running code reports, else what the manifest declares (not running)."""
    running = info.runtime.get("services")
    if isinstance(running, dict):
        return {str(name): str(state) for name, state in running.items()}
    declared = info.manifest.of_type("service") if info.manifest is not None else []
    return {c.name: "stopped" for c in declared}


async def _service_action(manager: ExtensionManager, params: dict[str, Any], start: bool) -> Any:
    plugin_id, name = text(params, "plugin"), text(params, "name")
    if start:
        await manager.start_service(plugin_id, name)
    else:
        await manager.stop_service(plugin_id, name)
    state = _services(manager.plugin(plugin_id)).get(name, "running" if start else "stopped")
    return {"plugin": plugin_id, "name": name, "state": state}


@operation("service.start", uses="plugins", summary="start a plugin's background service")
async def op_service_start(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return await _service_action(manager, params, True)


@operation("service.stop", uses="plugins", summary="stop a plugin's background service")
async def op_service_stop(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return await _service_action(manager, params, False)


@operation("service.status", uses="plugins", summary="the services of one plugin ('plugin') or of all")
async def op_service_status(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    plugin_id = text(params, "plugin", required=False)
    infos = [known_plugin(manager, plugin_id)] if plugin_id else [
        i for i in manager.plugins() if i.state != "overridden"]
    return {"services": [{"plugin": i.id, "name": name, "state": state}
                         for i in infos for name, state in sorted(_services(i).items())]}


@operation("skills", uses="locations", summary="skills, commands and agents")
async def op_skills(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    from aleph_gui.core.discovery import discover
    from aleph_gui.core.skills import collect_skills

    locations = manager.locations
    # Reading every skill file is disk work: off the loop, so a hosting window stays responsive.
    entries = await asyncio.to_thread(lambda: collect_skills(locations, discover(locations)))
    return [e.to_json() for e in entries]


@operation("mcp.tools", uses="plugins", summary="start one MCP server of a plugin and list its tools")
async def op_mcp_tools(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    from aleph_gui.core.mcp import list_tools_of_plugin

    return await list_tools_of_plugin(manager, text(params, "plugin"), text(params, "server"))
