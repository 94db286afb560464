"""WASM tools and hooks through WasmRuntime, with real Extism and real modules."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from wasm_support import DEMOS, load_demo, make_runtime, manifest, plugin_folder

from aleph_gui.core.errors import PluginCallError
from aleph_gui.core.hook_result import Block, Continue, Intercept
from aleph_gui.core.state import StateDB

TEXT_TOOLS = DEMOS / "wasm-wat-text-tools"


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "home" / "state.db")
    yield db
    db.close()


async def test_demo_text_tools_round_trip(state: StateDB) -> None:
    man = load_demo(TEXT_TOOLS)
    h = make_runtime(TEXT_TOOLS, man, state)
    await h.runtime.start()
    assert await h.runtime.call_tool("uppercase", {"text": "hello wörld, \"quoted\"\nline"}) == \
        {"text": "HELLO WöRLD, \"QUOTED\"\nLINE"}
    assert await h.runtime.call_tool("word_count", {"text": "one two\tthree\nfour  "}) == {"words": 4}
    assert await h.runtime.call_tool("word_count", {"text": ""}) == {"words": 0}
    status = h.runtime.status()
    assert status["calls"] == 3 and status["failures"] == 0
    assert status["memory_limit_mb"] == 16 and status["host_functions"] == ["aleph_log", "aleph_now_ms", "http_request", "http_status_code"]
    await h.runtime.stop()


async def test_tool_refusing_bad_arguments_is_a_clear_error_not_a_fault(state: StateDB) -> None:
    man = load_demo(TEXT_TOOLS)
    h = make_runtime(TEXT_TOOLS, man, state)
    await h.runtime.start()
    for _ in range(6):
        with pytest.raises(PluginCallError, match='expected a JSON object with a "text" string'):
            await h.runtime.call_tool("uppercase", {"words": 3})
    # the plugin answered correctly each time: it is not marked failed
    assert h.states == []
    assert await h.runtime.call_tool("uppercase", {"text": "ok"}) == {"text": "OK"}


async def test_unknown_tool_is_refused_by_name(state: StateDB) -> None:
    man = load_demo(TEXT_TOOLS)
    h = make_runtime(TEXT_TOOLS, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match="has no tool named 'reverse'"):
        await h.runtime.call_tool("reverse", {"text": "x"})


async def test_demo_hook_blocks_the_configured_word_and_logs_it(state: StateDB) -> None:
    man = load_demo(TEXT_TOOLS)
    h = make_runtime(TEXT_TOOLS, man, state)
    await h.runtime.start()
    blocked = await h.runtime.run_hook("on_message", {"event": "message_received",
                                                      "data": {"text": "Buy SPAM now"}})
    assert blocked == Block("message contains the banned word 'spam'")
    assert ("info", "blocked a message that contains the banned word") in h.logs
    passed = await h.runtime.run_hook("on_message", {"event": "message_received", "data": {"text": "hello"}})
    assert passed == Continue()


async def test_user_config_overrides_the_manifest_default(state: StateDB) -> None:
    man = load_demo(TEXT_TOOLS)
    h = make_runtime(TEXT_TOOLS, man, state, config={"banned_word": "eggs"})
    await h.runtime.start()
    event = {"event": "message_received", "data": {"text": "spam and EGGS"}}
    assert await h.runtime.run_hook("on_message", event) == Block("message contains the banned word 'eggs'")
    assert await h.runtime.run_hook("on_message", {"event": "message_received",
                                                   "data": {"text": "only spam"}}) == Continue()


@pytest.mark.parametrize(("answer", "expected"), [
    ("", Continue()),
    ('{"action": "continue"}', Continue()),
    ('{"action": "intercept", "data": {"text": "cleaned"}}', Intercept({"text": "cleaned"})),
    ('{"action": "block", "reason": "not today"}', Block("not today")),
])
async def test_hook_answers(tmp_path: Path, state: StateDB, answer: str, expected: object) -> None:
    root = plugin_folder(tmp_path, "config_answer.wat")
    man = manifest("config_answer.wat", hooks={"message_received": "answer"}, config={"answer": answer})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    assert await h.runtime.run_hook("answer", {"event": "message_received", "data": {"text": "x"}}) == expected


@pytest.mark.parametrize("answer", ["not json", '{"action": "explode"}', "[1, 2]",
                                    '{"action": "intercept"}'])
async def test_hook_answer_that_is_not_a_decision_is_a_handler_error(tmp_path: Path, state: StateDB,
                                                                     answer: str) -> None:
    root = plugin_folder(tmp_path, "config_answer.wat")
    man = manifest("config_answer.wat", hooks={"message_received": "answer"}, config={"answer": answer})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    with pytest.raises(PluginCallError, match="answered something that is not a hook decision"):
        await h.runtime.run_hook("answer", {"event": "message_received", "data": {}})
    assert h.runtime.status()["failures"] == 1


async def test_non_json_tool_output_is_returned_as_text(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "config_answer.wat")
    man = manifest("config_answer.wat", tools={"say": "answer", "nothing": "noop"},
                   config={"answer": "plain words"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    assert await h.runtime.call_tool("say", {}) == "plain words"
    assert await h.runtime.call_tool("nothing", {}) is None


async def test_blocking_hook_chain_runs_in_one_worker_thread(tmp_path: Path, state: StateDB) -> None:
    runtimes = []
    for i, answer in enumerate(["", '{"action": "intercept", "data": {"text": "second"}}', ""]):
        root = plugin_folder(tmp_path, "config_answer.wat", plugin_id=f"chain-{i}")
        man = manifest("config_answer.wat", plugin_id=f"chain-{i}", hooks={"message_received": "answer"},
                       config={"answer": answer})
        h = make_runtime(root, man, state)
        await h.runtime.start()
        runtimes.append(h.runtime)
    assert all(rt.supports_blocking_hooks for rt in runtimes)

    def chain() -> list[object]:
        return [rt.run_hook_blocking("answer", {"event": "message_received", "data": {"text": "x"}})
                for rt in runtimes]

    results = await asyncio.get_running_loop().run_in_executor(None, chain)
    assert results == [Continue(), Intercept({"text": "second"}), Continue()]


async def test_calls_do_not_block_the_event_loop(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "loop.wat")
    man = manifest("loop.wat", tools={"work": "work"})
    h = make_runtime(root, man, state)
    await h.runtime.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    # raw bytes input is a decimal count; the tool gets its JSON arguments, a bare number
    result = await h.runtime.call_tool("work", 300_000_000)  # type: ignore[arg-type]
    task.cancel()
    assert result == 300_000_000
    assert ticks > 3, "the event loop was frozen while the plugin ran"
