"""A tool call from any client — the window, the CLI, an agent — with the hook chain around it.

`before_tool_call` (Claude `PreToolUse`, alias `tool_invoked`) may block the call or rewrite its
arguments; `after_tool_call` (`PostToolUse`) may rewrite the result or withhold it. The tool's own
run is traced beside the hooks (event `tool_call`, its duration). Tools live in the plugin's runtime
(declared or registered by its code) or in one of its MCP servers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from aleph_gui.core.errors import AlephError, PluginCallError, PluginNotRunnable
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.loader import LoadedPlugin, TrackedRuntime
from aleph_gui.core.registry import PluginRegistry
from aleph_gui.core.runtime.offload import offloader

BEFORE, AFTER, TOOL_CALL = "before_tool_call", "after_tool_call", "tool_call"

Fire = Callable[..., Awaitable[FireResult]]


class ToolBlocked(AlephError):
    """A hook blocked the tool call (before it ran) or withheld its result (after)."""


@dataclass(frozen=True)
class ToolSpec:
    """One tool as agents see it."""

    plugin: str
    name: str
    description: str
    input_schema: dict[str, Any]
    source: str  # manifest | runtime | mcp:<server>

    def to_json(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "name": self.name, "description": self.description,
                "input_schema": self.input_schema, "source": self.source}


async def tools_of(version: LoadedPlugin, registry: PluginRegistry) -> list[ToolSpec]:
    """Every tool of a running version: declared, registered by its code, and its MCP servers' tools
    (which starts those servers on first use)."""
    pid = version.manifest.id
    specs = [ToolSpec(pid, c.name, c.description, c.parameters or {"type": "object"}, "manifest")
             for c in version.manifest.of_type("tool")]
    declared = {s.name for s in specs}
    for reg in registry.entries("tool", pid):
        if reg.source == "runtime" and reg.name not in declared:
            cap = reg.capability
            specs.append(ToolSpec(pid, cap.name, cap.description, cap.parameters or {"type": "object"}, "runtime"))
    if version.mcp is not None:
        specs += [ToolSpec(pid, t.name, t.description, t.input_schema, f"mcp:{t.server}")
                  for t in await version.mcp.tools()]
    return specs


def _runtime_has(version: LoadedPlugin, registry: PluginRegistry, tool: str) -> bool:
    """Declared in the manifest (the common case: no registry scan), or registered by the running code."""
    return version.manifest.tool(tool) is not None or any(
        r.name == tool for r in registry.entries("tool", version.manifest.id))


async def _runner(version: LoadedPlugin, registry: PluginRegistry,
                  tool: str) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """How to run `tool` of this version when its runtime does not have it, or a clear error."""
    pid = version.manifest.id
    if version.mcp is not None and any(t.name == tool for t in await version.mcp.tools()):
        mcp = version.mcp
        return lambda args: mcp.call(tool, args)
    names = [s.name for s in await tools_of(version, registry)]
    raise PluginCallError(pid, f"has no tool '{tool}' (it has: {', '.join(names) or 'none'})")


async def call_tool(version: LoadedPlugin, registry: PluginRegistry, hooks: HookExecutor, fire: Fire,
                    tool: str, arguments: dict[str, Any], client: str) -> Any:
    pid, runtime = version.manifest.id, version.runtime
    if runtime is not None and _runtime_has(version, registry, tool):
        if runtime.calls_blocking and hooks.runs_blocking(BEFORE) and hooks.runs_blocking(AFTER):
            return await _in_one_hop(version, runtime, hooks, tool, arguments, client)
        run: Callable[[dict[str, Any]], Awaitable[Any]] = lambda args: runtime.call_tool(tool, args)  # noqa: E731
    elif runtime is None and _runtime_has(version, registry, tool):
        raise PluginNotRunnable(pid, "declares tools but has no code to run them")
    else:
        run = await _runner(version, registry, tool)
    if hooks.listens(BEFORE):
        before = await fire(BEFORE, {"plugin": pid, "tool_name": tool, "arguments": arguments}, client=client)
        if before.decision == "block":
            raise ToolBlocked(pid, f"the call of '{tool}' was blocked: {before.reason}")
        arguments = _rewritten_arguments(before.data, arguments)
    cap = version.manifest.tool(tool)
    if cap is not None and cap.parameters:
        version.check_arguments(tool, cap.parameters, arguments)
    result, took = await hooks.traced_run(TOOL_CALL, pid, tool, client, run(arguments))
    if hooks.listens(AFTER):
        after = await fire(AFTER, {"plugin": pid, "tool_name": tool, "arguments": arguments, "result": result,
                                   "duration_ms": round(took / 1e6, 3)}, client=client)
        if after.decision == "block":
            raise ToolBlocked(pid, f"the result of '{tool}' was withheld: {after.reason}")
        if after.decision == "intercept":
            result = _rewritten_result(after.data, result)
    return result


async def _in_one_hop(version: LoadedPlugin, runtime: TrackedRuntime, hooks: HookExecutor, tool: str,
                      arguments: dict[str, Any], client: str) -> Any:
    """The same call, for a WASM tool whose surrounding chains are built-in and WASM handlers only:
    before-hooks, the tool and after-hooks run in ONE worker-thread hop (each hop costs about as much
    as a small WASM call). Traces are published back on the loop thread, in order."""
    pid = version.manifest.id
    outcome = await offloader().run(_one_hop, version, runtime, hooks, tool, arguments, client)
    before, started, took, result, error, after = outcome
    if before is not None:
        hooks.publish(before)
    if started:
        hooks.record_run(started, TOOL_CALL, pid, tool, took, error, client)
    if after is not None:
        hooks.publish(after)
    if before is not None and before.decision == "block":
        raise ToolBlocked(pid, f"the call of '{tool}' was blocked: {before.reason}")
    if error is not None:
        raise error
    if after is not None and after.decision == "block":
        raise ToolBlocked(pid, f"the result of '{tool}' was withheld: {after.reason}")
    return result


def _one_hop(version: LoadedPlugin, runtime: TrackedRuntime, hooks: HookExecutor, tool: str,
             arguments: dict[str, Any], client: str) -> tuple[Any, ...]:
    pid = version.manifest.id
    before = after = None
    if hooks.listens(BEFORE):
        before = hooks.fire_blocking(BEFORE, {"plugin": pid, "tool_name": tool, "arguments": arguments}, client)
        if before.decision == "block":
            return before, 0.0, 0, None, None, None
        arguments = _rewritten_arguments(before.data, arguments)
    cap = version.manifest.tool(tool)
    try:
        if cap is not None and cap.parameters:
            version.check_arguments(tool, cap.parameters, arguments)
    except AlephError as exc:
        return before, 0.0, 0, None, exc, None
    started, t0 = time.time(), perf_counter_ns()
    try:
        result = runtime.call_tool_blocking(tool, arguments)
    except AlephError as exc:
        return before, started, perf_counter_ns() - t0, None, exc, None
    took = perf_counter_ns() - t0
    if hooks.listens(AFTER):
        after = hooks.fire_blocking(AFTER, {"plugin": pid, "tool_name": tool, "arguments": arguments,
                                            "result": result, "duration_ms": round(took / 1e6, 3)}, client)
        if after.decision == "intercept":
            result = _rewritten_result(after.data, result)
    return before, started, took, result, None, after


def _rewritten_arguments(data: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """An Aleph handler rewrites `arguments`; a Claude command hook answers `updatedInput` (`tool_input`)."""
    updated = data.get("tool_input")
    if isinstance(updated, dict) and updated != original:
        return updated
    arguments = data.get("arguments")
    return arguments if isinstance(arguments, dict) else original


def _rewritten_result(data: dict[str, Any], original: Any) -> Any:
    for key in ("result", "tool_response"):
        if key in data and data[key] != original:
            return data[key]
    return original
