"""The MCP server agents talk to (official `mcp` SDK, low-level server): one for every transport.

    gateway = McpGateway(backend)        # backend: where operations run (backends.py)
    await gateway.server.run(read, write, gateway.initialization_options())    # stdio
    gateway.server.streamable_http_app(...)                                     # HTTP (http_gateway.py)

tools/list     every tool of every running plugin (`agent.tools`: WASM, Node.js and the tools of plugins' MCP
               servers), named as `host/catalog.py` says (a clash: prefixed with the plugin id).
tools/call     the host's `call` operation with the MCP client's name (from `initialize`'s clientInfo) as
               `client`: the hook chain runs around it and the live hook log shows who asked. A call a hook
               blocked, or a tool that failed, is a tool error (isError) whose text is the sentence — the block
               reason included — so the model reads it.
prompts/*      skills and commands (`agent.prompts`, `agent.prompt`).
list_changed   after plugins change (debounced), the listings are read again and, where they differ from what
               was last listed, `notifications/tools/list_changed` / `prompts/list_changed` go to every session
               (and to `subscriptions/listen` streams of clients on the 2026-07-28 protocol).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from typing import Any

import mcp_types as types
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from aleph_gui import __version__
from aleph_gui.gateways.backends import Backend, InProcess, OperationFailed

log = logging.getLogger(__name__)

SERVER_NAME = "aleph"
DEBOUNCE_S = 0.25  # a reload touches several plugins at once: one notification, not one per event
MAX_SESSIONS = 256  # sessions remembered for notifications (HTTP clients come and go)
UNNAMED_CLIENT = "mcp-client"
INSTRUCTIONS = ("Tools and prompts of the plugins enabled in the Aleph Extension Manager. Every tool call passes "
                "Aleph's hook chain: a guard plugin may block it (the result then says why) or change its "
                "arguments or result.")


class _Server(Server[Any]):
    """The SDK's low-level server, announcing list changes whoever asks for the initialization options
    (the streamable HTTP transport asks with no arguments)."""

    def create_initialization_options(self, notification_options: NotificationOptions | None = None,
                                      experimental_capabilities: dict[str, dict[str, Any]] | None = None,
                                      extensions: dict[str, dict[str, Any]] | None = None) -> InitializationOptions:
        return super().create_initialization_options(
            notification_options or NotificationOptions(tools_changed=True, prompts_changed=True),
            experimental_capabilities, extensions)


def client_name(ctx: ServerRequestContext[Any, Any]) -> str:
    params = ctx.session.client_params
    name = params.client_info.name if params is not None else ""
    return name.strip()[:100] or UNNAMED_CLIENT


def call_result(value: Any) -> types.CallToolResult:
    """A tool's JSON result as MCP content: text as is, anything else as JSON text (objects also structured)."""
    if isinstance(value, dict) and set(value) == {"content"} and isinstance(value["content"], list):
        try:  # an MCP server's result that was not plain text (images, resources): passed on as it came
            return types.CallToolResult.model_validate({"content": value["content"]})
        except ValueError:
            pass
    if isinstance(value, str):
        return types.CallToolResult(content=[types.TextContent(text=value)])
    text = json.dumps(value, ensure_ascii=False)
    return types.CallToolResult(content=[types.TextContent(text=text)],
                                structured_content=value if isinstance(value, dict) else None)


def error_result(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)


class McpGateway:
    def __init__(self, backend: Backend, *, debounce_s: float = DEBOUNCE_S) -> None:
        self.backend = backend
        self.debounce_s = debounce_s
        self._tools: dict[str, tuple[str, str]] = {}  # MCP name -> (plugin, tool)
        self._tools_listed: str | None = None  # the last tools listing sent (JSON), None: never listed
        self._prompts_listed: str | None = None
        self._sessions: OrderedDict[int, tuple[Any, Any]] = OrderedDict()  # id(client params) -> (them, session)
        self._bus = InMemorySubscriptionBus()
        self._dirty = asyncio.Event()
        self._follower: asyncio.Task[None] | None = None
        self._closed = False
        self.server = _Server(SERVER_NAME, version=__version__, title="Aleph Extension Manager",
                              instructions=INSTRUCTIONS,
                              on_list_tools=self._list_tools, on_call_tool=self._call_tool,
                              on_list_prompts=self._list_prompts, on_get_prompt=self._get_prompt,
                              on_subscriptions_listen=ListenHandler(self._bus))
        # The SDK's OpenTelemetry middleware opens a span per message for an exporter this app never installs:
        # only the session bookkeeping stays.
        self.server.middleware = [self._remember_session]
        backend.on_change(self.changed)

    def initialization_options(self) -> InitializationOptions:
        return self.server.create_initialization_options()

    def use(self, backend: Backend) -> None:
        """Run operations somewhere else from now on (`mcp serve` moving between the host and this process)."""
        self.backend = backend
        backend.on_change(self.changed)
        self.changed()

    # -- tools -----------------------------------------------------------------------------------------
    async def _tool_listing(self) -> list[dict[str, Any]]:
        try:
            listing = await self.backend.run("agent.tools", {}, "")
        except OperationFailed as exc:
            raise MCPError(types.INTERNAL_ERROR, f"the tools could not be listed: {exc}") from None
        for problem in listing.get("problems", []):
            log.warning("tools of %s are not offered: %s", problem.get("plugin"), problem.get("error"))
        tools: list[dict[str, Any]] = listing["tools"]
        self._tools = {t["name"]: (t["plugin"], t["tool"]) for t in tools}
        return tools

    async def _list_tools(self, ctx: ServerRequestContext[Any, Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        tools = await self._tool_listing()
        self._tools_listed = json.dumps(tools, sort_keys=True)
        return types.ListToolsResult(tools=[
            types.Tool(name=t["name"], title=f"{t['tool']} ({t['plugin']})", description=t["description"] or None,
                       input_schema=t["input_schema"]) for t in tools])

    async def _call_tool(self, ctx: ServerRequestContext[Any, Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        target = self._tools.get(params.name)
        if target is None:  # listed by another session, or the plugins changed since: look again
            await self._tool_listing()
            target = self._tools.get(params.name)
        if target is None:
            raise MCPError(types.INVALID_PARAMS, f"there is no tool '{params.name}' (tools/list shows the tools of "
                                                 "the plugins that run now)")
        plugin, tool = target
        try:
            value = await self.backend.run("call", {"plugin": plugin, "tool": tool,
                                                    "arguments": params.arguments or {}}, client_name(ctx))
        except OperationFailed as exc:  # blocked by a hook, failed in the plugin, plugin turned off since
            return error_result(exc.message)
        return call_result(value)

    # -- prompts ---------------------------------------------------------------------------------------
    async def _prompt_listing(self) -> list[dict[str, Any]]:
        try:
            prompts: list[dict[str, Any]] = await self.backend.run("agent.prompts", {}, "")
        except OperationFailed as exc:
            raise MCPError(types.INTERNAL_ERROR, f"the prompts could not be listed: {exc}") from None
        return prompts

    async def _list_prompts(self, ctx: ServerRequestContext[Any, Any],
                            params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        prompts = await self._prompt_listing()
        self._prompts_listed = json.dumps(prompts, sort_keys=True)
        return types.ListPromptsResult(prompts=[
            types.Prompt(name=p["name"], title=p["title"], description=p["description"] or None,
                         arguments=[types.PromptArgument(name=a["name"], description=a["description"] or None,
                                                         required=a["required"]) for a in p["arguments"]] or None)
            for p in prompts])

    async def _get_prompt(self, ctx: ServerRequestContext[Any, Any],
                          params: types.GetPromptRequestParams) -> types.GetPromptResult:
        try:
            prompt = await self.backend.run("agent.prompt", {"name": params.name,
                                                             "arguments": params.arguments or {}}, client_name(ctx))
        except OperationFailed as exc:
            code = types.INVALID_PARAMS if exc.kind == "InvalidParams" else types.INTERNAL_ERROR
            raise MCPError(code, exc.message) from None
        return types.GetPromptResult(description=prompt["description"] or None, messages=[
            types.PromptMessage(role="user", content=types.TextContent(text=prompt["text"]))])

    # -- telling clients what changed -------------------------------------------------------------------
    async def _remember_session(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Keep each handshake-era session (stdio, or a streamable HTTP session) to notify it later; 2026-era
        clients are told through their `subscriptions/listen` streams instead."""
        params = ctx.session.client_params
        if params is not None and ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            key = id(params)
            if key not in self._sessions:
                self._sessions[key] = (params, ctx.session)
                while len(self._sessions) > MAX_SESSIONS:
                    self._sessions.popitem(last=False)
            self._sessions.move_to_end(key)
        return await call_next(ctx)

    def changed(self) -> None:
        """Plugins changed (called on the loop): compare the listings again after a short pause."""
        if self._closed:
            return
        self._dirty.set()
        if self._follower is None or self._follower.done():
            self._follower = asyncio.get_running_loop().create_task(self._follow_changes())

    async def _follow_changes(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self.debounce_s)
            self._dirty.clear()
            try:
                await self._check_listings()
            except (MCPError, OperationFailed) as exc:  # the host is away for a moment: the next change retries
                log.warning("could not compare the tool listing after a change: %s", exc)

    async def _check_listings(self) -> None:
        if self._tools_listed is not None:
            listing = json.dumps(await self._tool_listing(), sort_keys=True)
            if listing != self._tools_listed:
                self._tools_listed = listing
                await self._notify("notifications/tools/list_changed")
        if self._prompts_listed is not None:
            listing = json.dumps(await self._prompt_listing(), sort_keys=True)
            if listing != self._prompts_listed:
                self._prompts_listed = listing
                await self._notify("notifications/prompts/list_changed")

    async def _notify(self, method: str) -> None:
        tools = method.startswith("notifications/tools")
        await self._bus.publish(ToolsListChanged() if tools else PromptsListChanged())
        for key, (_, session) in list(self._sessions.items()):
            try:
                if tools:
                    await session.send_tool_list_changed()
                else:
                    await session.send_prompt_list_changed()
            except Exception as exc:  # a session whose stream has closed: forget it (notifications are advisory)
                log.debug("dropping MCP session %s: %s", key, exc)
                self._sessions.pop(key, None)

    async def close(self) -> None:
        """Stop following changes (a core of this process stops telling this gateway about them)."""
        self._closed = True
        if isinstance(self.backend, InProcess):
            self.backend.close()
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
