"""Node.js plugins through the ExtensionManager and `aleph-ext`: what a user of the app sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from node_support import DATA, DEMOS, needs_node, process_gone

from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations

pytestmark = needs_node


def home_with(tmp_path: Path, *folders: Path) -> Locations:
    plugins = tmp_path / "home" / "plugins"
    plugins.mkdir(parents=True)
    for folder in folders:
        shutil.copytree(folder, plugins / folder.name)
    project = tmp_path / "project"
    project.mkdir()
    return Locations(home=tmp_path / "home", project=project, builtin=None)


async def test_manager_calls_tools_fires_hooks_and_runs_services(tmp_path: Path) -> None:
    locations = home_with(tmp_path, DEMOS / "node-weather-tools", DEMOS / "node-jsonrpc-server")
    async with ExtensionManager(locations) as m:
        assert m.plugin("node-weather-tools").state == "needs_review"  # kv + time need approval
        await m.grant("node-weather-tools")
        assert m.plugin("node-weather-tools").state == "enabled"
        # It asks for nothing, but the app would start a Node.js process for it: that is reviewed too.
        server = m.plugin("node-jsonrpc-server")
        assert server.state == "needs_review"
        assert [r.key for r in server.permissions if r.waiting] == ["process:nodejs"]
        await m.grant("node-jsonrpc-server")
        forecast = await m.call_tool("node-weather-tools", "forecast", {"city": "Quito", "days": 2})
        assert forecast["city"] == "Quito" and len(forecast["days"]) == 2
        fired = await m.fire("tool_invoked", {"tool": "forecast"})
        assert fired.decision == "intercept" and fired.data == {"tool": "forecast", "weather_checked": True}

        assert await m.call_tool("node-jsonrpc-server", "text_stats", {"text": "a b"}) == {
            "words": 2, "lines": 1, "characters": 3}
        await m.start_service("node-jsonrpc-server", "heartbeat")
        runtime = m.plugin("node-jsonrpc-server").runtime
        assert runtime["services"] == {"heartbeat": "running"} and isinstance(runtime["pid"], int)
        await m.stop_service("node-jsonrpc-server", "heartbeat")
        assert m.plugin("node-jsonrpc-server").runtime["services"] == {"heartbeat": "stopped"}
        pids = [m.plugin(p).runtime["pid"] for p in ("node-weather-tools", "node-jsonrpc-server")]
    for pid in pids:  # the manager stopped: no node process is left behind
        assert process_gone(pid)


async def test_declared_but_unregistered_tool_shows_on_the_plugin(tmp_path: Path) -> None:
    locations = home_with(tmp_path, DATA / "missing-tool")
    async with ExtensionManager(locations) as m:
        await m.grant("missing-tool")  # it runs a Node.js process
        assert await m.call_tool("missing-tool", "present", {}) == "here"
        problems = m.plugin("missing-tool").runtime["problems"]
        assert any("'ghost'" in p["message"] for p in problems)
        assert any("ghost" in entry.message for entry in m.logs("missing-tool"))


def run_cli(home: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--project", str(project),
                           "--no-builtin", *args], capture_output=True, text=True, timeout=60, env=env)


def test_cli_calls_a_node_tool_and_starts_a_service(tmp_path: Path) -> None:
    locations = home_with(tmp_path, DEMOS / "node-jsonrpc-server")
    assert locations.project is not None
    refused = run_cli(locations.home, locations.project, "call", "node-jsonrpc-server", "text_stats",
                      "--input", '{"text": "x"}')
    assert refused.returncode != 0 and "aleph-ext grant node-jsonrpc-server" in refused.stderr
    granted = run_cli(locations.home, locations.project, "grant", "node-jsonrpc-server")
    assert granted.returncode == 0, granted.stderr
    done = run_cli(locations.home, locations.project, "call", "node-jsonrpc-server", "text_stats",
                   "--input", '{"text": "three little words"}')
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"words": 3, "lines": 1, "characters": 18}
    started = run_cli(locations.home, locations.project, "service", "start", "node-jsonrpc-server", "heartbeat")
    assert started.returncode == 0, started.stderr
    missing = run_cli(locations.home, locations.project, "service", "start", "node-jsonrpc-server", "nope")
    assert missing.returncode == 1 and "no service named 'nope'" in missing.stderr


async def test_unloading_withdraws_what_the_running_code_registered(tmp_path: Path) -> None:
    locations = home_with(tmp_path, DATA / "esm-module")
    async with ExtensionManager(locations) as m:
        await m.grant("esm-module")  # it runs a Node.js process
        assert await m.call_tool("esm-module", "shout", {"text": "hi"}) == "HI!"
        by_code = [(r.kind, r.name) for r in m.registry.entries(plugin_id="esm-module") if r.source == "runtime"]
        assert ("command", "esm:hello") in by_code and ("hook", "before_tool_call") in by_code
        assert any(h.plugin_id == "esm-module" for h in m.hooks.handlers("before_tool_call"))
        await m.disable("esm-module")
        assert m.registry.entries(plugin_id="esm-module") == []
        assert not any(h.plugin_id == "esm-module" for h in m.hooks.handlers())
        await m.enable("esm-module")  # a fresh version registers again, and only once
        assert await m.call_tool("esm-module", "shout", {"text": "x"}) == "X!"
        by_code = [(r.kind, r.name) for r in m.registry.entries(plugin_id="esm-module") if r.source == "runtime"]
        assert by_code.count(("command", "esm:hello")) == 1
