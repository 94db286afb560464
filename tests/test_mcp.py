"""MCP servers: `.mcp.json` parsing, variable expansion, scope, and the demo server through the real SDK."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from runtime_support import runtime_context

from aleph_gui.core.errors import PluginTimeout
from aleph_gui.core.manifest.claude import parse_mcp_only
from aleph_gui.core.manifest.claude_mcp import parse_mcp_json
from aleph_gui.core.manifest.model import Capability, PluginManifest
from aleph_gui.core.mcp import McpServerError, expand, expand_server
from aleph_gui.core.runtime.mcp_servers import McpServers
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB

DEMO = Path(__file__).resolve().parent.parent / "plugins_demo" / "mcp-time-server"
DATA = Path(__file__).resolve().parent / "data" / "claude"


# -- expansion -----------------------------------------------------------------------------------

def test_variables_and_defaults_expand() -> None:
    env = {"TOKEN": "abc", "EMPTY": ""}
    missing: list[str] = []
    assert expand("Bearer ${TOKEN}", env, missing) == "Bearer abc"
    assert expand("${NOPE:-./protect.cedar}", env, missing) == "./protect.cedar"
    assert expand("${EMPTY:-fallback}", env, missing) == "fallback"
    assert expand("x${UNSET}y", env, missing) == "xy"
    assert expand("$HOME stays, ${TOKEN:-} too", env, missing) == "$HOME stays, abc too"
    assert missing == ["UNSET"]


def test_expand_server_fills_plugin_root_and_app_python(tmp_path: Path) -> None:
    config = {"command": "${ALEPH_PYTHON:-python3}", "args": ["${CLAUDE_PLUGIN_ROOT}/server.py", "--db",
                                                               "${DB_PATH:-data.db}"],
              "env": {"KEY": "${API_KEY}"}}
    out, missing = expand_server(config, env={"PATH": "/bin"}, plugin_root=tmp_path)
    assert out["command"] == sys.executable
    assert out["args"] == [f"{tmp_path}/server.py", "--db", "data.db"]
    assert out["env"] == {"KEY": ""} and missing == ["API_KEY"]
    assert out["type"] == "stdio"
    remote, _ = expand_server({"type": "http", "url": "https://${HOST:-mcp.example.com}/mcp",
                               "headers": {"Authorization": "Bearer ${TOKEN}"}}, env={"TOKEN": "t0k"})
    assert remote["url"] == "https://mcp.example.com/mcp" and remote["headers"] == {"Authorization": "Bearer t0k"}


# -- parsing -------------------------------------------------------------------------------------

def test_wrapped_and_flat_maps_and_comment_entries() -> None:
    caps, problems = parse_mcp_json(json.dumps({"mcpServers": {"a": {"command": "npx", "args": ["-y", "srv"]}}}),
                                    ".mcp.json")
    assert [(c.name, c.details["type"]) for c in caps] == [("a", "stdio")] and problems == []
    flat = {"_comment": "servers below", "remote": {"type": "sse", "url": "https://example.com/sse"},
            "web": {"type": "http", "url": "https://api.example.com/mcp", "headers": {"X-Key": "${KEY}"}}}
    caps, problems = parse_mcp_json(json.dumps(flat), "x.json")
    assert [c.name for c in caps] == ["remote", "web"]
    assert [p.severity for p in problems] == ["warning"] and "_comment" in problems[0].field


@pytest.mark.parametrize(("text", "needle"), [
    ("[]", "found a JSON list"),
    ("{not json", "not valid JSON"),
    ('{"mcpServers": []}', "mapping server names"),
    ('{"mcpServers": {"s": {"args": ["x"]}}}', "unknown server type"),
    ('{"mcpServers": {"s": {"command": ""}}}', "needs a 'command'"),
    ('{"mcpServers": {"s": {"type": "http"}}}', "needs a 'url'"),
    ('{"mcpServers": {"s": {"command": "x", "args": "not-a-list"}}}', "list of strings"),
    ('{"mcpServers": {"s": {"command": "x", "env": ["A=1"]}}}', "object of string values"),
])
def test_bad_mcp_json_gives_one_clear_error(text: str, needle: str) -> None:
    caps, problems = parse_mcp_json(text, ".mcp.json")
    errors = [p for p in problems if p.severity == "error"]
    assert caps == [] and len(errors) == 1 and needle in errors[0].message


def test_mcp_only_folder_is_an_mcp_plugin_whose_scope_says_what_it_does(tmp_path: Path) -> None:
    folder = tmp_path / "My Servers"
    folder.mkdir()
    (folder / ".mcp.json").write_text(json.dumps({"mcpServers": {
        "local": {"command": "node", "args": ["srv.js"]},
        "remote": {"type": "http", "url": "https://mcp.example.com/mcp"},
        "dynamic": {"type": "sse", "url": "https://${REGION}.example.net/sse"},
    }}))
    result = parse_mcp_only(folder)
    m = result.manifest
    assert m is not None and result.problems == []
    assert (m.id, m.kind, m.format, m.version) == ("my-servers", "mcp", "mcp-json", "0.0.0")
    assert [c.type for c in m.capabilities] == ["mcp_server"] * 3
    assert m.scope.shell is True  # a stdio server runs a program as you
    assert m.scope.network_access.mode == "any"  # a host only known at run time
    assert m.scope.needs_review()


def test_remote_only_servers_ask_for_their_hosts_not_shell(tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(json.dumps({"zoom": {"type": "http", "url": "https://mcp.zoom.us/mcp"}}))
    m = parse_mcp_only(tmp_path).manifest
    assert m is not None and m.scope.shell is False
    assert (m.scope.network_access.mode, m.scope.network_access.hosts) == ("allow", ["mcp.zoom.us"])


def test_demo_declares_one_stdio_server() -> None:
    result = parse_mcp_only(DEMO)
    assert result.manifest is not None and result.problems == []
    (cap,) = result.manifest.capabilities
    assert (cap.name, cap.details["command"]) == ("time", "${ALEPH_PYTHON:-python3}")


# -- the real SDK, end to end (the host's sessions) ----------------------------------------------

def servers_for(root: Path, configs: dict[str, dict[str, Any]], tmp_path: Path, **options: Any) -> McpServers:
    caps = [Capability(type="mcp_server", name=name, details=config) for name, config in configs.items()]
    manifest = PluginManifest(id="p", name="p", kind="mcp", format="mcp-json", manifest_file=".mcp.json",
                              capabilities=caps, scope=Scope(shell=True))
    return McpServers(runtime_context(manifest, root, StateDB(tmp_path / "state.db")), **options)


def demo_servers(tmp_path: Path) -> McpServers:
    cap = parse_mcp_only(DEMO).manifest.capabilities[0]  # type: ignore[union-attr]
    return servers_for(DEMO, {cap.name: cap.details}, tmp_path)


async def test_demo_server_tools_are_listed_through_the_sdk(tmp_path: Path) -> None:
    servers = demo_servers(tmp_path)
    try:
        by_name = {t.name: t for t in await servers.tools()}
        assert set(by_name) == {"current_time", "convert_time"}
        assert "time zone" in by_name["current_time"].description
        assert by_name["convert_time"].input_schema["required"] == ["time", "source_timezone", "target_timezone"]
        assert servers.status()["time"]["state"] == "running"  # one session, kept open for the next call
    finally:
        await servers.stop()
    assert servers.status()["time"]["state"] == "stopped"


async def test_demo_server_tool_can_be_called(tmp_path: Path) -> None:
    servers = demo_servers(tmp_path)
    try:
        out = await servers.call("convert_time", {"time": "12:00", "source_timezone": "UTC",
                                                  "target_timezone": "Asia/Tokyo"})
        assert isinstance(out, str) and out.endswith("T21:00+09:00")
    finally:
        await servers.stop()


async def test_a_missing_command_is_one_clear_sentence(tmp_path: Path) -> None:
    servers = servers_for(tmp_path, {"x": {"command": "no-such-mcp-binary"}}, tmp_path)
    with pytest.raises(McpServerError, match="no-such-mcp-binary"):
        await servers.tools()
    await servers.stop()


async def test_a_crashing_server_reports_its_error_output(tmp_path: Path) -> None:
    servers = servers_for(tmp_path, {"x": {"command": "/bin/sh", "args": [
        "-c", "echo 'missing dependency' >&2; exit 3"]}}, tmp_path)
    with pytest.raises(McpServerError, match="missing dependency"):
        await servers.tools()
    assert servers.status()["x"]["state"] == "failed"
    await servers.stop()


async def test_a_silent_server_times_out(tmp_path: Path) -> None:
    servers = servers_for(tmp_path, {"x": {"command": "/bin/sleep", "args": ["30"]}}, tmp_path, start_timeout_s=1)
    with pytest.raises(PluginTimeout, match="did not answer within 1 s"):
        await servers.tools()
    await servers.stop()


async def test_remote_servers_are_not_started(tmp_path: Path) -> None:
    servers = servers_for(tmp_path, {"x": {"type": "http", "url": "https://example.com/mcp"}}, tmp_path)
    with pytest.raises(McpServerError, match="remote http server at https://example.com/mcp"):
        await servers.tools("x")
    assert await servers.tools() == []  # nothing to start


async def test_a_plugins_mcp_tools_are_called_like_any_tool_through_the_chain(tmp_path: Path) -> None:
    from aleph_gui.core.errors import ReviewRequired
    from aleph_gui.core.hook_result import Block
    from aleph_gui.core.hooks import HookHandler
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.mcp import list_tools_of_plugin
    from aleph_gui.core.paths import Locations
    from aleph_gui.core.tool_calls import ToolBlocked

    home = tmp_path / "home"
    shutil.copytree(DEMO, home / "plugins" / "mcp-time-server")
    manager = ExtensionManager(Locations(home=home, project=tmp_path / "proj", builtin=None))
    await manager.start()
    try:
        with pytest.raises(ReviewRequired, match="aleph-ext grant mcp-time-server"):
            await list_tools_of_plugin(manager, "mcp-time-server", "time")
        await manager.grant("mcp-time-server")
        tools = await list_tools_of_plugin(manager, "mcp-time-server", "time")
        assert sorted(t["name"] for t in tools) == ["convert_time", "current_time"]
        with pytest.raises(McpServerError, match="no MCP server named 'nope' \\(its servers: time\\)"):
            await list_tools_of_plugin(manager, "mcp-time-server", "nope")
        args = {"time": "08:30", "source_timezone": "UTC", "target_timezone": "Europe/Lisbon"}
        assert (await manager.call_tool("mcp-time-server", "convert_time", args)).endswith("T08:30+00:00")
        manager.hooks.add(HookHandler("guard", "before_tool_call", "no_time", func=lambda d: Block("not now")))
        with pytest.raises(ToolBlocked, match="not now"):
            await manager.call_tool("mcp-time-server", "convert_time", args)
        traced = [r for r in manager.hooks.recent(20) if r.event == "tool_call"]
        assert traced and traced[-1].plugin == "mcp-time-server" and traced[-1].handler == "convert_time"
        assert manager.plugin("mcp-time-server").runtime["mcp"]["time"]["state"] == "running"
        await manager.disable("mcp-time-server")  # unloading stops its servers
        assert not manager.is_loaded("mcp-time-server")
    finally:
        await manager.stop()
