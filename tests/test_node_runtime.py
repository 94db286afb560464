"""NodeRuntime end to end with real `node` processes: both shapes, concurrency, timeouts, crashes,
misbehaving output, lifecycle and registrations."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest
from node_support import DATA, DEMOS, make_runtime, needs_node
from node_support import process_gone as gone
from runtime_support import OWNER

from aleph_gui.core.errors import (
    HookTimeout,
    PluginCallError,
    PluginCrashed,
    PluginFailed,
    PluginTimeout,
    RuntimeUnavailable,
)
from aleph_gui.core.hook_result import Block, Intercept

pytestmark = needs_node


def runs_node(pid: int) -> bool:
    """The plugin's process is node itself (no sandbox here) or its sandbox, with node inside."""
    process = psutil.Process(pid)
    return any(p.name().startswith("node") for p in [process, *process.children(recursive=True)])


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


# -- both shapes ----------------------------------------------------------------------------------
async def test_module_demo_tool_and_intercepting_hook(tmp_path: Path) -> None:
    h = make_runtime(DEMOS / "node-weather-tools", tmp_path)
    await h.runtime.start()
    assert h.runtime.status()["pid"] is None  # lazy: nothing runs before the first call
    try:
        first = await h.runtime.call_tool("forecast", {"city": "Lisbon", "days": 3})
        second = await h.runtime.call_tool("forecast", {"city": "Lisbon", "days": 3})
        assert first["city"] == "Lisbon" and len(first["days"]) == 3
        assert first["days"] == second["days"]  # computed, deterministic
        assert (first["asked"], second["asked"]) == (1, 2)  # kept in the plugin's kv store
        assert h.state.kv_get("node-weather-tools", OWNER, "asked:lisbon") == b"2"
        result = await h.runtime.run_hook("stampToolCall", {"event": "tool_invoked",
                                                             "data": {"tool": "forecast"}})
        assert result == Intercept({"tool": "forecast", "weather_checked": True})
        assert any("forecast for Lisbon" in msg for _, msg in h.logs)
        assert h.runtime.status()["problems"] == []
    finally:
        await h.runtime.stop()


async def test_server_demo_tools_and_service(tmp_path: Path) -> None:
    h = make_runtime(DEMOS / "node-jsonrpc-server", tmp_path)
    await h.runtime.start()
    try:
        assert await h.runtime.call_tool("text_stats", {"text": "one two\nthree"}) == {
            "words": 3, "lines": 2, "characters": 13}
        assert h.runtime.status()["services"] == {"heartbeat": "stopped"}
        await h.runtime.start_service("heartbeat")
        assert h.runtime.status()["services"] == {"heartbeat": "running"}
        await asyncio.sleep(0.35)
        ticks = await h.runtime.call_tool("ticks", {})
        assert ticks["running"] is True and ticks["ticks"] >= 1
        await h.runtime.stop_service("heartbeat")
        assert h.runtime.status()["services"] == {"heartbeat": "stopped"}
        assert (await h.runtime.call_tool("ticks", {}))["running"] is False
    finally:
        await h.runtime.stop()


async def test_esm_entry_positional_forms_and_canonical_events(tmp_path: Path) -> None:
    h = make_runtime(DATA / "esm-module", tmp_path)
    await h.runtime.start()
    try:
        assert await h.runtime.call_tool("shout", {"text": "hi"}) == "HI!"
        await asyncio.sleep(0)  # registrations are published right after the start
        hooks = [c for c in h.registered if c.type == "hook"]
        assert [(c.event, c.priority) for c in hooks] == [("before_tool_call", -10)]
        assert any(c.type == "command" and c.name == "esm:hello" for c in h.registered)
        assert not any(c.type == "tool" for c in h.registered)  # declared already: not registered twice
        answer = await h.runtime.run_hook(hooks[0].handler, {"event": "before_tool_call",
                                                              "data": {"tool": "rm"}})
        assert answer == Block("no rm")
    finally:
        await h.runtime.stop()
    assert h.undone == []  # withdrawing them is the manager's job (the version's disposables), done once


async def test_declared_tool_never_registered_is_a_problem(tmp_path: Path) -> None:
    h = make_runtime(DATA / "missing-tool", tmp_path)
    await h.runtime.start()
    try:
        assert await h.runtime.call_tool("present", {}) == "here"
        problems = h.runtime.status()["problems"]
        assert len(problems) == 1 and "'ghost'" in problems[0]["message"]
        assert problems[0]["severity"] == "error" and problems[0]["file"] == "package.json"
        assert any(level == "error" and "ghost" in msg for level, msg in h.logs)
        with pytest.raises(PluginCallError, match="never registers it"):
            await h.runtime.call_tool("ghost", {})
        await asyncio.sleep(0)
        assert [c.name for c in h.registered] == ["extra"]  # code-only tool reaches the registry
        assert await h.runtime.call_tool("extra", {}) == "extra"
    finally:
        await h.runtime.stop()


# -- concurrency and timeouts ------------------------------------------------------------------------
async def test_hundred_concurrent_calls_all_answered(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path)
    await h.runtime.start()
    try:
        results = await asyncio.gather(*(h.runtime.call_tool("echo", {"n": i}) for i in range(100)))
        assert results == [{"echo": {"n": i}} for i in range(100)]
        assert h.runtime.status()["restarts"] == 0
    finally:
        await h.runtime.stop()


async def test_timeout_cancels_and_next_call_succeeds(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path)
    h.runtime.ctx.manifest.limits.tool_timeout_ms = 300
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        with pytest.raises(PluginTimeout, match="did not answer within 0.3 s"):
            await h.runtime.call_tool("hang", {})
        assert await h.runtime.call_tool("echo", {"after": 1}) == {"echo": {"after": 1}}
        await h.runtime.call_tool("pid", {})
        assert h.runtime.status()["pid"] == pid  # cancelled, not restarted
        assert h.runtime.status()["in_flight"] == 0
    finally:
        await h.runtime.stop()


async def test_hung_event_loop_is_replaced_after_a_timeout(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path, restart_backoff_s=0.05)
    h.runtime.ctx.manifest.limits.tool_timeout_ms = 300
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        with pytest.raises(PluginTimeout):
            await h.runtime.call_tool("spin", {})
        await wait_for(lambda: gone(pid) and h.runtime.status()["crashes"] == 1)  # killed, and noticed
        assert await h.runtime.call_tool("echo", {"x": 1}) == {"echo": {"x": 1}}
        assert "stopped answering" in h.log_text()
    finally:
        await h.runtime.stop()


async def test_hook_timeout_default_one_second_from_limits(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path)
    h.runtime.ctx.manifest.limits.hook_timeout_ms = 200
    await h.runtime.start()
    try:
        with pytest.raises(HookTimeout, match="slowHook"):
            await h.runtime.run_hook("slowHook", {"event": "message_received", "data": {}})
        assert await h.runtime.call_tool("echo", {}) == {"echo": {}}
    finally:
        await h.runtime.stop()


async def test_tool_error_is_one_sentence_and_process_survives(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path)
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        with pytest.raises(PluginCallError) as info:
            await h.runtime.call_tool("fail", {})
        assert str(info.value) == "misbehaving: tool 'fail' failed: the input was wrong"
        await h.runtime.call_tool("pid", {})
        assert h.runtime.status()["pid"] == pid
    finally:
        await h.runtime.stop()


# -- crashes -------------------------------------------------------------------------------------
async def test_crash_mid_call_fails_in_flight_then_restarts(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path, restart_backoff_s=0.05)
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        hanging = asyncio.ensure_future(h.runtime.call_tool("hang", {}))
        await asyncio.sleep(0.05)
        with pytest.raises(PluginCrashed, match="boom from crash tool"):
            await h.runtime.call_tool("crash", {})
        with pytest.raises(PluginCrashed):
            await hanging  # every call in flight fails, not only the one that crashed it
        assert gone(pid)
        await wait_for(lambda: h.runtime.status()["restarts"] == 1)  # restarted on its own
        new_pid = h.runtime.status()["pid"]
        assert new_pid not in (None, pid)
        assert await h.runtime.call_tool("echo", {"ok": True}) == {"echo": {"ok": True}}
        assert h.runtime.status()["crashes"] == 1 and h.states == []
    finally:
        await h.runtime.stop()


async def test_fourth_crash_in_five_minutes_marks_plugin_crashed(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path, restart_backoff_s=0.01)
    await h.runtime.start()
    try:
        for n in range(1, 4):
            with pytest.raises(PluginCrashed):
                await h.runtime.call_tool("crash", {})
            await wait_for(lambda n=n: h.runtime.status()["restarts"] == n)
        with pytest.raises(PluginCrashed):
            await h.runtime.call_tool("crash", {})
        assert len(h.states) == 1
        state, reason = h.states[0]
        assert state == "crashed" and "crashed 4 times within 5 minutes" in reason
        with pytest.raises(PluginFailed, match="reload or enable it again"):
            await h.runtime.call_tool("echo", {})
        assert h.runtime.status()["pid"] is None and h.runtime.status()["crashes"] == 4
    finally:
        await h.runtime.stop()


# -- misbehaving output ------------------------------------------------------------------------------
async def test_garbage_on_stdout_is_logged_and_ignored(tmp_path: Path) -> None:
    h = make_runtime(DATA / "garbage-server", tmp_path)
    await h.runtime.start()
    try:
        assert await h.runtime.call_tool("add", {"a": 2, "b": 3}) == 5
        assert await h.runtime.call_tool("add", {"a": 10, "b": -1}) == 9
        text = h.log_text()
        assert "not JSON-RPC: Starting garbage server..." in text
        assert "not JSON-RPC: [1, 2, 3]" in text
    finally:
        await h.runtime.stop()


async def test_never_answering_server_times_out_and_keeps_serving(tmp_path: Path) -> None:
    h = make_runtime(DATA / "garbage-server", tmp_path)
    h.runtime.ctx.manifest.limits.tool_timeout_ms = 200
    await h.runtime.start()
    try:
        with pytest.raises(PluginTimeout, match="tool 'mute' did not answer"):
            await h.runtime.call_tool("mute", {})
        assert await h.runtime.call_tool("add", {"a": 1, "b": 1}) == 2
        assert h.runtime.status()["crashes"] == 0
    finally:
        await h.runtime.stop()


async def test_plugin_that_never_gets_ready(tmp_path: Path) -> None:
    h = make_runtime(DATA / "never-ready", tmp_path, ready_timeout_s=0.5)
    await h.runtime.start()
    with pytest.raises(PluginTimeout, match="did not become ready within 0.5 s"):
        await h.runtime.call_tool("anything", {})
    assert h.runtime.status()["pid"] is None
    await h.runtime.stop()


async def test_plugin_that_exits_at_start(tmp_path: Path) -> None:
    h = make_runtime(DATA / "exit-at-start", tmp_path, restart_backoff_s=0.01)
    await h.runtime.start()
    with pytest.raises(PluginCrashed) as info:
        await h.runtime.call_tool("never", {})
    assert "exited with code 3" in str(info.value)
    assert "cannot find my configuration" in str(info.value)
    for _ in range(3):  # it keeps failing: after the 4th try it is marked crashed, not retried forever
        with pytest.raises((PluginCrashed, PluginFailed)):
            await h.runtime.call_tool("never", {})
    assert [s for s, _ in h.states] == ["crashed"]
    await h.runtime.stop()


async def test_twenty_megabyte_line_kills_the_process_with_a_clear_error(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path, restart_backoff_s=0.01)
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        with pytest.raises(PluginCrashed, match="larger than 16 MiB"):
            await h.runtime.call_tool("huge", {})
        assert gone(pid)
        assert await h.runtime.call_tool("echo", {}) == {"echo": {}}
    finally:
        await h.runtime.stop()


async def test_stderr_flood_is_drained_and_bounded(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path)
    await h.runtime.start()
    try:
        assert await h.runtime.call_tool("flood", {}) == "survived"
        await wait_for(lambda: any("log lines were dropped" in m for _, m in h.logs))
        assert len(h.logs) < 1000  # a flood does not become 5000 log entries
        assert any("noise line 0" == m for _, m in h.logs)
        assert await h.runtime.call_tool("echo", {"still": "alive"}) == {"echo": {"still": "alive"}}
    finally:
        await h.runtime.stop()


# -- lifecycle ---------------------------------------------------------------------------------------
async def test_no_zombies_after_stop(tmp_path: Path) -> None:
    pids = []
    for folder in (DEMOS / "node-weather-tools", DEMOS / "node-jsonrpc-server", DATA / "garbage-server"):
        h = make_runtime(folder, tmp_path)
        await h.runtime.start()
        tool = h.runtime.ctx.manifest.of_type("tool")[0].name
        args = {"city": "Oslo"} if tool == "forecast" else {"text": "x"} if tool == "text_stats" else {"a": 1, "b": 2}
        await h.runtime.call_tool(tool, args)
        pids.append(h.runtime.status()["pid"])
        await h.runtime.stop()
        assert h.runtime.status()["pid"] is None
    assert all(isinstance(p, int) for p in pids)
    assert all(gone(p) for p in pids)
    me = psutil.Process()
    assert not [c for c in me.children(recursive=True) if c.pid in pids]


async def test_idle_process_stops_and_restarts_on_demand(tmp_path: Path) -> None:
    h = make_runtime(DATA / "misbehaving", tmp_path, idle_timeout_s=0.3)
    await h.runtime.start()
    try:
        await h.runtime.call_tool("pid", {})
        pid = h.runtime.status()["pid"]  # the plugin's process (its sandbox) as the host sees it
        await wait_for(lambda: gone(pid))
        assert h.runtime.status()["running"] is False
        assert "without calls" in h.log_text()
        await h.runtime.call_tool("pid", {})
        assert h.runtime.status()["pid"] not in (None, pid)
        assert h.runtime.status()["crashes"] == 0  # an idle stop is not a crash
    finally:
        await h.runtime.stop()


async def test_startup_activation_spawns_at_start(tmp_path: Path) -> None:
    h = make_runtime(DEMOS / "node-jsonrpc-server", tmp_path)
    h.runtime.ctx.manifest.activation = "startup"
    await h.runtime.start()
    try:
        pid = h.runtime.status()["pid"]
        assert isinstance(pid, int) and runs_node(pid)
    finally:
        await h.runtime.stop()
    assert gone(pid)


async def test_node_missing_or_too_old_is_runtime_unavailable(tmp_path: Path) -> None:
    h = make_runtime(DEMOS / "node-weather-tools", tmp_path, node_path=DATA / "old-node" / "fake-node")
    with pytest.raises(RuntimeUnavailable, match="Node.js >= 20 is required") as info:
        await h.runtime.start()
    assert "18.19.0" in str(info.value)
    h = make_runtime(DEMOS / "node-weather-tools", tmp_path, node_path=tmp_path / "no-such-node")
    with pytest.raises(RuntimeUnavailable, match="Node.js >= 20 is required, but node was not found"):
        await h.runtime.start()


async def test_node_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEPH_NODE", str(DATA / "old-node" / "fake-node"))
    h = make_runtime(DEMOS / "node-weather-tools", tmp_path)
    with pytest.raises(RuntimeUnavailable, match="18.19.0"):
        await h.runtime.start()


async def test_arguments_and_answers_json_cannot_hold_in_64_bits_still_go_through(tmp_path: Path) -> None:
    # The connection writes and reads with orjson, which refuses integers past 64 bits: those messages take
    # the standard library's path instead of failing the call.
    plugin = tmp_path / "echo"
    plugin.mkdir()
    (plugin / "package.json").write_text(
        '{"name": "echo", "version": "1.0.0", "main": "index.js", '
        '"aleph": {"kind": "nodejs", "capabilities": [{"type": "tool", "name": "echo"}]}}')
    (plugin / "index.js").write_text(
        "exports.register = (api) => api.registerTool({name: 'echo', execute: (args) => args});\n")
    h = make_runtime(plugin, tmp_path)
    await h.runtime.start()
    try:
        answer = await h.runtime.call_tool("echo", {"big": 2**70, "text": "ok"})
        assert answer["text"] == "ok" and answer["big"] == pytest.approx(2**70)  # a JavaScript number
    finally:
        await h.runtime.stop()
