"""A tool call from any client passes the hook chain (issue 14): a guard's `before_tool_call` blocks it
or rewrites its arguments, `after_tool_call` rewrites its result, and the trace shows both hooks and
the tool's own run, in order. WASM tools whose chains are built-in or WASM handlers share one worker
hop with them; a Node.js tool takes the general path — both behave the same."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from node_support import DEMOS, needs_node
from plugin_files import approve

from aleph_gui.core.hook_result import Block, Intercept
from aleph_gui.core.hooks import HookHandler
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import BUILTIN_PLUGINS, Locations
from aleph_gui.core.tool_calls import ToolBlocked

WASM_TOOLS = "wasm-wat-text-tools"


def home_with(tmp_path: Path, *demos: str, builtin: Path | None = None) -> Locations:
    """A home holding these demos, the WASM ones approved (the Node.js one is approved by its test)."""
    home = tmp_path / "home"
    for demo in demos:
        folder = shutil.copytree(DEMOS / demo, home / "plugins" / demo)
        if demo == WASM_TOOLS:
            approve(home, folder)
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    return Locations(home=home, project=tmp_path, builtin=builtin)


def guard(event: str, answer: object, seen: list[dict]) -> HookHandler:  # type: ignore[type-arg]
    def handler(data: dict) -> object:  # type: ignore[type-arg]
        seen.append(dict(data))
        return answer(data) if callable(answer) else answer
    return HookHandler("guard", event, f"guard_{event}", func=handler)  # type: ignore[arg-type]


async def test_before_rewrites_arguments_after_rewrites_the_result_and_all_is_traced(tmp_path: Path) -> None:
    async with ExtensionManager(home_with(tmp_path, WASM_TOOLS)) as m:
        seen: list[dict] = []  # type: ignore[type-arg]
        m.hooks.add(guard("before_tool_call", lambda d: Intercept({**d, "arguments": {"text": "rewritten"}}), seen))
        m.hooks.add(guard("after_tool_call", lambda d: Intercept({**d, "result": {"text": d["result"]["text"] + "!"}}), seen))
        assert await m.call_tool(WASM_TOOLS, "uppercase", {"text": "original"}, client="cli") == {"text": "REWRITTEN!"}
        assert seen[0] == {"plugin": WASM_TOOLS, "tool_name": "uppercase", "arguments": {"text": "original"}}
        assert seen[1]["result"] == {"text": "REWRITTEN"} and seen[1]["arguments"] == {"text": "rewritten"}
        trace = [(r.event, r.handler, r.client) for r in m.hooks.recent(3)]
        assert trace == [("before_tool_call", "guard_before_tool_call", "cli"), ("tool_call", "uppercase", "cli"),
                         ("after_tool_call", "guard_after_tool_call", "cli")]


async def test_a_guard_blocks_the_call_and_the_tool_never_runs(tmp_path: Path) -> None:
    async with ExtensionManager(home_with(tmp_path, WASM_TOOLS)) as m:
        seen: list[dict] = []  # type: ignore[type-arg]
        m.hooks.add(guard("before_tool_call", Block("no uppercase today"), seen))
        with pytest.raises(ToolBlocked, match="the call of 'uppercase' was blocked: no uppercase today"):
            await m.call_tool(WASM_TOOLS, "uppercase", {"text": "x"})
        assert not any(r.event == "tool_call" for r in m.hooks.recent(10))


async def test_an_after_hook_can_withhold_a_result(tmp_path: Path) -> None:
    async with ExtensionManager(home_with(tmp_path, WASM_TOOLS)) as m:
        m.hooks.add(guard("after_tool_call", Block("the result leaks a name"), []))
        with pytest.raises(ToolBlocked, match="the result of 'uppercase' was withheld: the result leaks a name"):
            await m.call_tool(WASM_TOOLS, "uppercase", {"text": "x"})


async def test_the_builtin_secret_guard_blocks_a_real_tool_call_carrying_a_key(tmp_path: Path) -> None:
    async with ExtensionManager(home_with(tmp_path, WASM_TOOLS, builtin=BUILTIN_PLUGINS)) as m:
        assert m.plugin("secret-guard").state == "enabled"
        key = "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
        with pytest.raises(ToolBlocked, match="private key") as blocked:
            await m.call_tool(WASM_TOOLS, "uppercase", {"text": key})
        assert "b3BlbnNzaC1rZXkt" not in str(blocked.value)  # the reason never repeats the secret
        assert await m.call_tool(WASM_TOOLS, "uppercase", {"text": "nothing secret"}) == {"text": "NOTHING SECRET"}


@needs_node
async def test_a_node_tool_gets_the_same_chain(tmp_path: Path) -> None:
    async with ExtensionManager(home_with(tmp_path, "node-weather-tools")) as m:
        await m.grant("node-weather-tools")
        seen: list[dict] = []  # type: ignore[type-arg]
        m.hooks.add(guard("before_tool_call", lambda d: Intercept({**d, "arguments": {"city": "Oslo", "days": 1}}),
                          seen))
        forecast = await m.call_tool("node-weather-tools", "forecast", {"city": "Lima"})
        assert forecast["city"] == "Oslo" and len(forecast["days"]) == 1
        m.hooks.add(guard("before_tool_call", Block("no weather"), []))
        with pytest.raises(ToolBlocked, match="no weather"):
            await m.call_tool("node-weather-tools", "forecast", {"city": "Lima"})
