"""Misbehaving WASM modules are contained: one clear sentence each, and everything else keeps running."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from wasm_support import DATA, make_runtime, manifest, plugin_folder

from aleph_gui.core.errors import ManifestError, PluginCallError, PluginFailed, PluginTimeout, ScopeDenied
from aleph_gui.core.runtime.wasm import CompileCache
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "home" / "state.db")
    yield db
    db.close()


async def test_infinite_loop_times_out_and_the_plugin_answers_the_next_call(tmp_path: Path,
                                                                            state: StateDB) -> None:
    root = plugin_folder(tmp_path, "loop.wat")
    man = manifest("loop.wat", tools={"spin": "spin", "echo": "echo"}, tool_timeout_ms=200)
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginTimeout, match="tool 'spin' did not finish within 200 ms and was stopped"):
        await h.runtime.call_tool("spin", {})
    assert await h.runtime.call_tool("echo", {"still": "alive"}) == {"still": "alive"}
    assert h.runtime.status()["timeouts"] == 1


async def test_hook_in_a_loop_times_out_as_a_hook_timeout(tmp_path: Path, state: StateDB) -> None:
    from aleph_gui.core.errors import HookTimeout
    root = plugin_folder(tmp_path, "loop.wat")
    man = manifest("loop.wat", hooks={"message_received": "spin"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(HookTimeout, match="hook handler 'spin' did not finish within 50 ms"):
        await h.runtime.run_hook("spin", {"event": "message_received", "data": {}}, timeout_ms=50)


async def test_trap_is_reported_and_the_plugin_recovers(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "trap.wat")
    man = manifest("trap.wat", tools={"boom": "boom", "echo": "echo"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match="tool 'boom' crashed inside WebAssembly"):
        await h.runtime.call_tool("boom", {})
    assert await h.runtime.call_tool("echo", [1, 2]) == [1, 2]
    assert any(level == "error" and "crashed inside WebAssembly" in msg for level, msg in h.logs)


async def test_memory_beyond_the_limit_is_refused(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "grow.wat")
    man = manifest("grow.wat", tools={"grow": "grow"}, memory_mb=16)
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match=r"tool 'grow' ran out of memory \(the limit is 16 MiB\)"):
        await h.runtime.call_tool("grow", {})


async def test_a_plugin_may_ask_for_more_memory_up_to_the_cap(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "grow.wat")
    man = manifest("grow.wat", tools={"grow": "grow"}, memory_mb=512)  # capped to 256 MiB
    h = make_runtime(root, man, state)
    await h.runtime.start()
    assert h.runtime.status()["memory_limit_mb"] == 256
    assert await h.runtime.call_tool("grow", {}) is None


@pytest.mark.parametrize(("memory_mb", "sentence"), [
    (16, r"tool 'flood' ran out of memory \(the limit is 16 MiB\)"),  # the sandbox stops it
    (256, "tool 'flood' returned 100 MiB of output; the limit is 16 MiB"),  # the output cap does
])
async def test_100_mb_output_is_refused(tmp_path: Path, state: StateDB, memory_mb: int, sentence: str) -> None:
    root = plugin_folder(tmp_path, "big_output.wat")
    man = manifest("big_output.wat", tools={"flood": "flood", "echo": "echo"}, memory_mb=memory_mb)
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match=sentence):
        await h.runtime.call_tool("flood", {})
    assert await h.runtime.call_tool("echo", "ok") == "ok"


async def test_missing_export_names_the_export(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "trap.wat")
    man = manifest("trap.wat", tools={"translate": "translate_text"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match="tool 'translate' names the export 'translate_text', which the "
                                              "module does not have"):
        await h.runtime.call_tool("translate", {})


async def test_corrupt_wasm_fails_at_start_with_a_sentence(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "corrupt.wasm")
    h = make_runtime(root, manifest("corrupt.wasm", tools={"x": "x"}), state)
    with pytest.raises(ManifestError, match="corrupt.wasm is not a valid WebAssembly module"):
        await h.runtime.start()


async def test_missing_entry_file_says_to_build_it(tmp_path: Path, state: StateDB) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    h = make_runtime(root, manifest("plugin.wasm", tools={"x": "x"}), state)
    with pytest.raises(ManifestError, match="entry file plugin.wasm does not exist; build the plugin first"):
        await h.runtime.start()


async def test_import_from_an_unknown_module_is_refused(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "foreign_import.wat")
    h = make_runtime(root, manifest("foreign_import.wat"), state)
    with pytest.raises(ManifestError, match="imports escape from 'evil', which Aleph does not provide"):
        await h.runtime.start()


async def test_host_function_not_granted_cannot_be_imported(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "kv.wat")
    man = manifest("kv.wat", tools={"get": "get"}, scope=Scope(allowed_apis=["log", "kv"]))
    # the manifest asks for kv, but the user granted only log
    h = make_runtime(root, man, state, scope=Scope(allowed_apis=["log"]))
    with pytest.raises(ScopeDenied, match="plugin imports aleph_kv_get but was not granted the 'kv' API"):
        await h.runtime.start()
    granted = make_runtime(root, man, state, scope=Scope(allowed_apis=["log", "kv"]))
    await granted.runtime.start()
    assert await granted.runtime.call_tool("get", {}) is None


async def test_five_faults_in_a_row_mark_the_plugin_failed_until_reloaded(tmp_path: Path,
                                                                         state: StateDB) -> None:
    root = plugin_folder(tmp_path, "trap.wat")
    man = manifest("trap.wat", tools={"boom": "boom", "echo": "echo"})
    cache = CompileCache()
    h = make_runtime(root, man, state, cache=cache)
    await h.runtime.start()
    for _ in range(5):
        with pytest.raises(PluginCallError):
            await h.runtime.call_tool("boom", {})
    assert h.states and h.states[0][0] == "failed" and "crashed inside WebAssembly" in h.states[0][1]
    with pytest.raises(PluginFailed, match="failed 5 calls in a row and stays off until it is reloaded"):
        await h.runtime.call_tool("echo", {})
    assert h.runtime.status()["failed"] is True
    # a reload is a new runtime: it works again
    fresh = make_runtime(root, man, state, cache=cache)
    await fresh.runtime.start()
    assert await fresh.runtime.call_tool("echo", {"a": 1}) == {"a": 1}


async def test_a_success_resets_the_failure_streak(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "trap.wat")
    man = manifest("trap.wat", tools={"boom": "boom", "echo": "echo"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    for _ in range(3):
        for _ in range(4):
            with pytest.raises(PluginCallError):
                await h.runtime.call_tool("boom", {})
        assert await h.runtime.call_tool("echo", 1) == 1
    assert h.states == []


async def test_timeout_in_one_plugin_does_not_abort_another_plugins_call(tmp_path: Path,
                                                                        state: StateDB) -> None:
    # Both plugins use the very same module file content; each has its own compiled module.
    a_root = plugin_folder(tmp_path, "loop.wat", plugin_id="plugin-a")
    b_root = tmp_path / "plugin-b"
    shutil.copytree(a_root, b_root)
    a = make_runtime(a_root, manifest("loop.wat", plugin_id="plugin-a", tools={"spin": "spin", "echo": "echo"},
                                      tool_timeout_ms=300), state)
    b = make_runtime(b_root, manifest("loop.wat", plugin_id="plugin-b", tools={"work": "work"}), state)
    await a.runtime.start()
    await b.runtime.start()
    count = 1_500_000_000  # about a second of work: still running when plugin A times out
    work = asyncio.create_task(b.runtime.call_tool("work", count))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    with pytest.raises(PluginTimeout):
        await a.runtime.call_tool("spin", {})
    assert not work.done(), "plugin B finished before A timed out; the test proves nothing"
    assert await work == count
    assert await a.runtime.call_tool("echo", "next") == "next"


async def test_concurrent_calls_to_one_plugin_are_serialised(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "loop.wat")
    h = make_runtime(root, manifest("loop.wat", tools={"work": "work", "echo": "echo"}), state)
    await h.runtime.start()
    results = await asyncio.gather(*[h.runtime.call_tool("echo", {"n": i}) for i in range(40)],
                                   h.runtime.call_tool("work", 1000))  # type: ignore[arg-type]
    assert results[:40] == [{"n": i} for i in range(40)] and results[40] == 1000


async def test_corrupt_module_next_to_a_good_one_leaves_the_good_one_working(tmp_path: Path,
                                                                           state: StateDB) -> None:
    good = make_runtime(plugin_folder(tmp_path, "trap.wat", plugin_id="good"),
                        manifest("trap.wat", plugin_id="good", tools={"echo": "echo"}), state)
    await good.runtime.start()
    bad_root = tmp_path / "bad"
    bad_root.mkdir()
    shutil.copy(DATA / "corrupt.wasm", bad_root / "plugin.wasm")
    bad = make_runtime(bad_root, manifest("plugin.wasm", plugin_id="bad"), state)
    with pytest.raises(ManifestError):
        await bad.runtime.start()
    assert await good.runtime.call_tool("echo", "fine") == "fine"
