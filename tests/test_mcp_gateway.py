"""`aleph-ext mcp serve` with a real `mcp` SDK client over stdio: the tools of WASM, Node.js and plugins' own MCP
servers, a guard plugin's block as a tool error, `tools/list_changed` when plugins change, skills and commands
as prompts — in-process, and relayed to a running host that names the client in its hook log."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import mcp_types as types
import pytest
from agent_support import (
    ROOT,
    ErrLog,
    Notifications,
    add_demo,
    add_guard,
    ext,
    grant,
    stdio_params,
    stdio_session,
    text_of,
    until,
)
from host_support import HostProcess
from mcp import ClientSession
from mcp.client.stdio import stdio_client
from mcp.client.subscriptions import ToolsListChanged, listen
from mcp.shared.exceptions import MCPError
from node_support import needs_node
from plugin_files import approve

from aleph_gui.host.client import call_sync

pytestmark = pytest.mark.timeout(240)


@needs_node
async def test_an_sdk_client_lists_and_calls_wasm_node_and_proxied_mcp_tools(home: Path) -> None:
    for demo in ("wasm-wat-text-tools", "node-weather-tools", "node-assistant-kit", "mcp-time-server"):
        add_demo(home, demo)
    await grant(home, "wasm-wat-text-tools", "node-weather-tools", "node-assistant-kit", "mcp-time-server")
    errors = ErrLog(home.parent / "mcp-serve.err")
    async with stdio_session(home, errlog=errors.file) as session:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert {"uppercase", "word_count", "forecast", "clock_status", "receive", "current_time",
                "convert_time"} <= set(tools)
        assert tools["forecast"].input_schema["required"] == ["city"]
        assert tools["uppercase"].description

        wasm = await session.call_tool("uppercase", {"text": "from an agent"})
        assert not wasm.is_error and wasm.structured_content == {"text": "FROM AN AGENT"}
        node = await session.call_tool("forecast", {"city": "Lyon", "days": 2})
        assert not node.is_error and node.structured_content["city"] == "Lyon"
        assert len(node.structured_content["days"]) == 2
        kit = await session.call_tool("clock_status", {})
        assert not kit.is_error and "running" in text_of(kit)
        proxied = await session.call_tool("convert_time", {"time": "12:00", "source_timezone": "UTC",
                                                           "target_timezone": "Asia/Tokyo"})
        assert not proxied.is_error and text_of(proxied).endswith("+09:00")

        failed = await session.call_tool("forecast", {"city": ""})  # the plugin throws: the model reads why
        assert failed.is_error and "city must not be empty" in text_of(failed)
        with pytest.raises(MCPError, match="there is no tool 'no_such_tool'"):
            await session.call_tool("no_such_tool", {})
    assert "running the core in this process" in errors.text()


@needs_node
async def test_a_guard_plugin_blocks_a_call_and_the_client_reads_the_reason(home: Path) -> None:
    approve(home, add_demo(home, "wasm-wat-text-tools"))
    add_guard(home)
    await grant(home, "tool-guard")
    async with stdio_session(home) as session:
        blocked = await session.call_tool("uppercase", {"text": "this is forbidden"})
        assert blocked.is_error
        assert 'the word "forbidden" may not reach a tool' in text_of(blocked)
        passed = await session.call_tool("uppercase", {"text": "this is fine"})
        assert not passed.is_error and passed.structured_content == {"text": "THIS IS FINE"}


@needs_node
async def test_tools_list_changed_when_a_plugin_is_added_and_when_one_is_granted(home: Path) -> None:
    approve(home, add_demo(home, "wasm-wat-text-tools"))
    notes = Notifications()
    async with stdio_session(home, notifications=notes) as session:
        assert {t.name for t in (await session.list_tools()).tools} == {"uppercase", "word_count"}
        twin = shutil.copytree(home / "plugins" / "wasm-wat-text-tools", home / "plugins" / "wasm-twin")
        manifest = twin / "aleph.plugin.toml"
        manifest.write_text(manifest.read_text().replace('id = "wasm-wat-text-tools"', 'id = "wasm-twin"'))
        assert (await ext(home, "grant", "wasm-twin")).returncode == 0  # its code runs once approved
        await notes.wait_for("notifications/tools/list_changed")
        names = {t.name for t in (await session.list_tools()).tools}
        assert names == {"uppercase", "word_count", "wasm-twin__uppercase", "wasm-twin__word_count"}
        twin_call = await session.call_tool("wasm-twin__uppercase", {"text": "twin"})
        assert twin_call.structured_content == {"text": "TWIN"}

        add_demo(home, "node-weather-tools")  # waits for approval: no tool of it yet
        await until(lambda: "needs_review" in subprocess.run(
            [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin", "list"],
            capture_output=True, text=True, cwd=ROOT).stdout, "the new plugin to be discovered")
        assert "forecast" not in {t.name for t in (await session.list_tools()).tools}
        assert (await ext(home, "grant", "node-weather-tools")).returncode == 0
        await notes.wait_for("notifications/tools/list_changed", count=2)
        assert "forecast" in {t.name for t in (await session.list_tools()).tools}


async def test_skills_and_commands_are_prompts_with_their_arguments(home: Path) -> None:
    add_demo(home, "static-prompts")
    async with stdio_session(home) as session:
        prompts = {p.name: p for p in (await session.list_prompts()).prompts}
        assert set(prompts) == {"summarize", "explain-code", "plain-english"}
        assert [(a.name, a.required) for a in prompts["explain-code"].arguments] == [("file_or_snippet", True)]
        got = await session.get_prompt("explain-code", {"file_or_snippet": "cli.py"})
        assert got.messages[0].role == "user"
        assert got.messages[0].content.text.startswith("Explain the code in cli.py to someone")
        with pytest.raises(MCPError, match="needs the argument"):
            await session.get_prompt("explain-code", {})


async def test_with_a_host_calls_go_through_it_named_after_the_client_and_it_survives_the_host(
        home: Path) -> None:
    approve(home, add_demo(home, "wasm-wat-text-tools"))
    host = HostProcess(home, ["--no-builtin"], ROOT)
    errors = ErrLog(home.parent / "mcp-serve.err")
    notes = Notifications()
    try:
        await asyncio.to_thread(host.wait_until_serving)
        async with stdio_session(home, client="claude-code", errlog=errors.file, notifications=notes) as session:
            await session.list_tools()
            served = call_sync(home, "host.status", {}, client="test")["served"]
            result = await session.call_tool("uppercase", {"text": "relayed"})
            assert result.structured_content == {"text": "RELAYED"}
            assert call_sync(home, "host.status", {}, client="test")["served"] > served
            records = call_sync(home, "log", {"limit": 20}, client="test")
            assert [r["client"] for r in records if r["event"] == "tool_call"] == ["claude-code"]

            assert (await ext(home, "disable", "wasm-wat-text-tools")).returncode == 0  # routed to the host
            await notes.wait_for("notifications/tools/list_changed")
            assert (await session.list_tools()).tools == []
            assert (await ext(home, "enable", "wasm-wat-text-tools")).returncode == 0
            await notes.wait_for("notifications/tools/list_changed", count=2)

            code, _ = await asyncio.to_thread(host.stop)  # no host takes over: the gateway runs the core itself
            assert code == 0
            await until(lambda: "running the core in this process" in errors.text(), "the fallback")
            again = await session.call_tool("uppercase", {"text": "alone"})
            assert again.structured_content == {"text": "ALONE"}
        assert "relaying to the headless host" in errors.text()
    finally:
        host.kill()



@needs_node
async def test_a_client_on_the_2026_protocol_hears_of_changes_through_its_listen_stream(home: Path) -> None:
    approve(home, add_demo(home, "wasm-wat-text-tools"))
    add_demo(home, "node-weather-tools")
    params = stdio_params(home, "--no-builtin")
    async with stdio_client(params) as (read, write), \
            ClientSession(read, write, client_info=types.Implementation(name="modern-agent", version="1")) as session:
        await session.discover()  # the 2026-07-28 era: no handshake, a listen stream for change events
        assert session.protocol_version == "2026-07-28"
        assert "forecast" not in {t.name for t in (await session.list_tools()).tools}
        async with listen(session, tools_list_changed=True) as changes:
            assert (await ext(home, "grant", "node-weather-tools")).returncode == 0
            event = await asyncio.wait_for(changes.__anext__(), 60)
            assert isinstance(event, ToolsListChanged)
        assert "forecast" in {t.name for t in (await session.list_tools()).tools}
        result = await session.call_tool("forecast", {"city": "Oslo"})
        assert result.structured_content["city"] == "Oslo"
