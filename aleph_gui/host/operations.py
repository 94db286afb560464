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


async def _skills(manager: ExtensionManager) -> list[Any]:
    from aleph_gui.core.skills import collect_skills

    infos = manager.plugins()  # read on the loop; reading every skill file is disk work: off it
    return await asyncio.to_thread(collect_skills, manager.locations, infos)


@operation("skills", uses="inventory", summary="skills, commands and agents")
async def op_skills(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return [e.to_json() for e in await _skills(manager)]


@operation("skills.show", uses="inventory", summary="one skill's, command's or agent's body")
async def op_skills_show(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    name = text(params, "name")
    entries = [e for e in await _skills(manager) if e.usable]
    found = [e for e in entries if e.name == name] or [e for e in entries if e.name.split(":", 1)[-1] == name]
    if len(found) != 1:
        names = ", ".join(e.name for e in found)
        raise AlephError(None, f"'{name}' names {len(found)} skills, commands or agents"
                               + (f" ({names}); use the full name" if found else "; aleph-ext skills lists them"))
    return {**found[0].to_json(), "body": await asyncio.to_thread(found[0].body)}


@operation("mcp.tools", uses="plugins", summary="start one MCP server of a plugin and list its tools")
async def op_mcp_tools(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    from aleph_gui.core.mcp import list_tools_of_plugin

    return await list_tools_of_plugin(manager, text(params, "plugin"), text(params, "server"))


@operation("tools", uses="plugins", summary="every tool of every runnable plugin (or of 'plugin'), with its schema")
async def op_tools(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    plugin_id = text(params, "plugin", required=False)
    return [t.to_json() for t in await manager.tools(plugin_id or None)]


# -- what agents see (the MCP gateway: `aleph-ext mcp serve`, HTTP /mcp) ----------------------------------


@operation("agent.tools", uses="plugins", summary="every tool of every running plugin, named uniquely for MCP")
async def op_agent_tools(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    from aleph_gui.host.catalog import agent_tools

    specs: list[Any] = []
    problems = []
    for info in manager.plugins():
        if info.state == "overridden" or not info.runnable:
            continue
        try:  # one plugin whose MCP server does not start must not hide every other plugin's tools
            specs += await manager.tools(info.id)
        except AlephError as exc:
            problems.append({"plugin": info.id, "error": str(exc)})
    return {"tools": agent_tools(specs, lambda name: manager.registry.owner("tool", name)), "problems": problems}


async def _agent_prompts(manager: ExtensionManager) -> tuple[list[dict[str, Any]], dict[tuple[str, str], Any]]:
    from aleph_gui.host.catalog import agent_prompts

    entries = await _skills(manager)
    return agent_prompts(entries, manager.plugins()), {(e.kind, e.name): e for e in entries}


@operation("agent.prompts", uses="inventory", summary="skills and commands as prompts, with their arguments")
async def op_agent_prompts(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return (await _agent_prompts(manager))[0]


@operation("agent.prompt", uses="inventory", summary="one prompt's text with its arguments filled in")
async def op_agent_prompt(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    from aleph_gui.host.catalog import missing_arguments, render_prompt

    name = text(params, "name")
    values = {str(k): "" if v is None else str(v) for k, v in json_object(params, "arguments").items()}
    prompts, entries = await _agent_prompts(manager)
    prompt = next((p for p in prompts if p["name"] == name), None)
    if prompt is None:
        raise InvalidParams(f"there is no prompt '{name}' (skills and commands of enabled plugins are prompts)")
    missing = missing_arguments(prompt["arguments"], values)
    if missing:
        raise InvalidParams(f"the prompt '{name}' needs the argument(s) {', '.join(missing)}")
    try:
        body = await asyncio.to_thread(entries[(prompt["kind"], prompt["skill"])].body)
    except OSError as exc:
        raise AlephError(None, f"the {prompt['kind']} '{prompt['skill']}' cannot be read: {exc.strerror or exc}") \
            from None
    return {"name": name, "description": prompt["description"],
            "text": render_prompt(body, prompt["arguments"], values)}


@operation("run", uses="plugins", summary="run a plugin's CLI entry: its output and exit code")
async def op_run(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    args = params.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InvalidParams("'args' must be a list of strings")
    return (await manager.run_cli(text(params, "plugin"), text(params, "name"), args, client=client)).to_json()


@operation("command.run", uses="plugins", summary="run a plugin's chat command with its argument text")
async def op_command_run(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return await manager.run_command(text(params, "plugin"), text(params, "name"),
                                     text(params, "args", required=False), client=client)


@operation("provider.ask", uses="plugins", summary="ask a provider plugin to answer a prompt")
async def op_provider_ask(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    answer = await manager.ask_provider(text(params, "plugin"), text(params, "provider"), text(params, "prompt"),
                                        client=client)
    return {"text": answer}


@operation("channel.send", uses="plugins", summary="send a message through a channel plugin")
async def op_channel_send(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return await manager.send_message(text(params, "plugin"), text(params, "channel"), text(params, "text"),
                                      text(params, "to", required=False), client=client)


@operation("http.request", uses="plugins", summary="call a plugin's HTTP route: {status, headers, body}")
async def op_http_request(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    answer = await manager.http_request(
        text(params, "plugin"), text(params, "method"), text(params, "path"), query=json_object(params, "query"),
        headers={str(k): str(v) for k, v in json_object(params, "headers").items()}, body=params.get("body"),
        client=client)
    return answer.to_json()


# -- settings, trust, history ----------------------------------------------------------------------


@operation("config", uses="inventory", summary="a plugin's settings: schema, defaults, values")
async def op_config(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    return manager.settings(known_plugin(manager, text(params, "plugin")).id).to_json()


@operation("config.set", uses="inventory", summary="set one setting (checked against the plugin's config_schema)")
async def op_config_set(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    if "value" not in params:
        raise InvalidParams("'value' is required")
    plugin_id = known_plugin(manager, text(params, "plugin")).id
    return (await manager.set_setting(plugin_id, text(params, "key"), params["value"])).to_json()


@operation("config.unset", uses="inventory", summary="put one setting back to the plugin's default")
async def op_config_unset(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    plugin_id = known_plugin(manager, text(params, "plugin")).id
    return (await manager.unset_setting(plugin_id, text(params, "key"))).to_json()


@operation("trust", uses="inventory", summary="let the plugins of a project folder run (or stop them)")
async def op_trust(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    folder = await manager.trust(absolute_path(params, "folder"), trusted=flag(params, "trusted"))
    affected = [i.to_json() for i in manager.plugins() if i.origin == "project" and i.state != "overridden"]
    return {"folder": str(folder), "trusted": manager.is_trusted(folder), "plugins": affected}


@operation("log", uses="inventory", summary="the hook audit history (newest 'limit', oldest first)")
async def op_log(manager: ExtensionManager, params: dict[str, Any], client: str) -> Any:
    limit = params.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 < limit <= 50_000:
        raise InvalidParams("'limit' must be a number from 1 to 50000")
    records = manager.audit(limit, plugin=text(params, "plugin", required=False) or None,
                            event=text(params, "event", required=False) or None)
    return [r.to_json() for r in records]
