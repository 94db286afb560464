"""The hook executor: order, intercept/block, observers, matchers, timeouts, fail-closed, tracing."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from aleph_gui.core.errors import HookTimeout, PluginCallError
from aleph_gui.core.hook_events import (
    HookEvent,
    canonical_event,
    claude_event_name,
    compile_matcher,
    matcher_problem,
)
from aleph_gui.core.hook_result import Block, Continue, HookResult, Intercept
from aleph_gui.core.hooks import HookExecutor, HookHandler, TraceRecord


def h(plugin: str, func: Any, *, event: str = "before_tool_call", **kw: Any) -> HookHandler:
    return HookHandler(plugin_id=plugin, event=event, handler=kw.pop("handler", "on_event"), func=func, **kw)


def recorder(calls: list[str], name: str, result: HookResult | None = None):
    def handler(data: dict[str, Any]) -> HookResult | None:
        calls.append(name)
        return result
    return handler


# -- event names -------------------------------------------------------------------------------

def test_claude_names_are_aliases_of_canonical_events() -> None:
    assert canonical_event("PreToolUse") == "before_tool_call"
    assert canonical_event("PostToolUse") == "after_tool_call"
    assert canonical_event("UserPromptSubmit") == "message_received"
    assert canonical_event("SessionStart") == "session_start"
    assert canonical_event("PreCompact") == "before_compaction"
    assert canonical_event("SubagentStop") == "subagent_end"
    assert canonical_event("message_received") == "message_received"
    assert canonical_event("session-end") == "session_end"
    assert canonical_event("NoSuchEvent") is None
    assert claude_event_name("before_tool_call") == "PreToolUse"
    assert claude_event_name("gateway_start") == "gateway_start"  # no Claude name: canonical
    assert canonical_event("tool_invoked") == "before_tool_call"  # Aleph's design name for the same event
    for required in ("message_received", "response_generated", "tool_result_persist",
                     "message_sending", "message_sent", "before_agent_start", "agent_end", "after_compaction",
                     "notification", "permission_request", "gateway_start", "gateway_stop"):
        assert HookEvent(required).value == required


# -- ordering and decisions -----------------------------------------------------------------------

async def test_interceptors_run_by_priority_then_plugin_id() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(h("zeta", recorder(calls, "zeta/0")))
    ex.add(h("alpha", recorder(calls, "alpha/0")))
    ex.add(h("mid", recorder(calls, "mid/-10"), priority=-10))
    ex.add(h("late", recorder(calls, "late/10"), priority=10))
    result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    assert calls == ["mid/-10", "alpha/0", "zeta/0", "late/10"]
    assert result.decision == "continue"
    assert [r.plugin for r in result.trace] == ["mid", "alpha", "zeta", "late"]


async def test_fire_accepts_claude_event_names() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(h("p", recorder(calls, "p")))
    result = await ex.fire("PreToolUse", {"tool_name": "Read"})
    assert calls == ["p"] and result.trace[0].event == "before_tool_call"


async def test_intercept_feeds_the_next_handler_then_block_stops_the_chain() -> None:
    seen: list[dict[str, Any]] = []
    calls: list[str] = []

    def rewrite(data: dict[str, Any]) -> HookResult:
        return Intercept({**data, "text": data["text"].upper()})

    def guard(data: dict[str, Any]) -> HookResult:
        seen.append(dict(data))
        return Block("shouting is not allowed")

    ex = HookExecutor()
    ex.add(h("a-rewrite", rewrite, event="message_received", priority=0))
    ex.add(h("b-guard", guard, event="message_received", priority=1))
    ex.add(h("c-never", recorder(calls, "never"), event="message_received", priority=2))
    result = await ex.fire("message_received", {"text": "hello", "channel": "cli"})
    assert seen == [{"text": "HELLO", "channel": "cli"}]
    assert calls == []
    assert result.decision == "block" and result.reason == "shouting is not allowed"
    assert result.data["text"] == "HELLO"
    assert [(r.plugin, r.decision) for r in result.trace] == [("a-rewrite", "intercept"), ("b-guard", "block")]
    assert result.trace[0].modified_keys == ("text",)


async def test_intercept_without_block_returns_modified_data() -> None:
    ex = HookExecutor()
    ex.add(h("p", lambda d: Intercept({**d, "tool_input": {"command": "ls -la"}})))
    original = {"tool_name": "Bash", "tool_input": {"command": "ls"}}
    result = await ex.fire("before_tool_call", original)
    assert result.decision == "intercept"
    assert result.data["tool_input"] == {"command": "ls -la"}
    assert original["tool_input"] == {"command": "ls"}  # the caller's dict is not changed


async def test_observers_run_after_the_chain_and_cannot_change_the_outcome() -> None:
    order: list[str] = []

    def observer_block(data: dict[str, Any]) -> HookResult:
        order.append(f"observer saw {data['text']}")
        data["text"] = "tampered"  # observers get a copy
        return Block("observers cannot block")

    ex = HookExecutor()
    ex.add(h("obs", observer_block, event="message_sent", kind="observer", priority=-100))
    ex.add(h("icpt", lambda d: (order.append("interceptor"), Intercept({**d, "text": "edited"}))[1],
             event="message_sent"))
    result = await ex.fire("message_sent", {"text": "orig"})
    assert order == ["interceptor", "observer saw edited"]
    assert result.decision == "intercept" and result.data == {"text": "edited"} and result.reason == ""
    assert [r.plugin for r in result.trace] == ["icpt", "obs"]


async def test_no_handlers_means_continue_with_the_same_data() -> None:
    result = await HookExecutor().fire("session_start", {"source": "startup"})
    assert (result.decision, result.data, result.trace) == ("continue", {"source": "startup"}, [])


# -- failures ------------------------------------------------------------------------------------

async def test_a_failing_handler_is_logged_and_the_chain_continues() -> None:
    calls: list[str] = []

    def broken(data: dict[str, Any]) -> HookResult:
        raise ValueError("bad regex in config")

    ex = HookExecutor()
    ex.add(h("broken", broken, priority=0))
    ex.add(h("next", recorder(calls, "next"), priority=1))
    result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    assert calls == ["next"] and result.decision == "continue"
    assert result.trace[0].decision == "continue"
    assert "ValueError: bad regex in config" in result.trace[0].error


async def test_a_failing_fail_closed_handler_blocks_with_the_error() -> None:
    calls: list[str] = []

    def broken(data: dict[str, Any]) -> HookResult:
        raise RuntimeError("policy file missing")

    ex = HookExecutor()
    ex.add(h("policy", broken, fail_closed=True))
    ex.add(h("next", recorder(calls, "next"), priority=5))
    result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    assert result.decision == "block" and "policy file missing" in result.reason
    assert result.reason.startswith("policy:")
    assert calls == []


async def test_a_handler_answering_garbage_counts_as_an_error() -> None:
    ex = HookExecutor()
    ex.add(h("weird", lambda d: "yes please"))
    result = await ex.fire("before_tool_call", {})
    assert result.decision == "continue" and "not Continue, Intercept or Block" in result.trace[0].error


class SlowRuntime:
    """A plugin runtime whose hook never answers in time (async form)."""

    supports_blocking_hooks = False

    def __init__(self, answer: HookResult | None = None, delay: float = 5.0) -> None:
        self.answer, self.delay = answer or Continue(), delay
        self.calls: list[tuple[str, dict[str, Any], int | None]] = []

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        self.calls.append((handler, event, timeout_ms))
        try:
            await asyncio.wait_for(asyncio.sleep(self.delay), (timeout_ms or 1000) / 1000)
        except TimeoutError as exc:
            raise HookTimeout("slow", f"hook timed out after {timeout_ms} ms") from exc
        return self.answer


async def test_a_timeout_is_continue_plus_error_unless_fail_closed() -> None:
    ex = HookExecutor()
    ex.add(HookHandler("slow", "before_tool_call", "on_call", timeout_ms=50, runtime=SlowRuntime()))  # type: ignore[arg-type]
    result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    assert result.decision == "continue" and "timed out" in result.trace[0].error

    ex2 = HookExecutor()
    ex2.add(HookHandler("slow", "before_tool_call", "on_call", timeout_ms=50, fail_closed=True,
                        runtime=SlowRuntime()))  # type: ignore[arg-type]
    result2 = await ex2.fire("before_tool_call", {"tool_name": "Bash"})
    assert result2.decision == "block" and "timed out" in result2.reason


async def test_runtime_handlers_get_the_event_envelope_and_can_block() -> None:
    rt = SlowRuntime(answer=Block("no network today"), delay=0)
    ex = HookExecutor()
    ex.add(HookHandler("net", "before_tool_call", "guard", timeout_ms=500, runtime=rt))  # type: ignore[arg-type]
    result = await ex.fire("PreToolUse", {"tool_name": "fetch"})
    assert result.decision == "block" and result.reason == "no network today"
    assert rt.calls == [("guard", {"event": "before_tool_call", "data": {"tool_name": "fetch"}}, 500)]


class BlockingRuntime:
    """Stands for WASM: answers synchronously from a worker thread."""

    supports_blocking_hooks = True

    def __init__(self, name: str, answer: Any, threads: list[int]) -> None:
        self.name, self.answer, self.threads = name, answer, threads

    def run_hook_blocking(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> HookResult:
        self.threads.append(threading.get_ident())
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(event["data"]) if callable(self.answer) else self.answer

    async def run_hook(self, *a: Any) -> HookResult:  # pragma: no cover - the executor must not use it
        raise AssertionError("blocking runtimes run in the worker thread")


async def test_consecutive_blocking_handlers_share_one_worker_hop_and_keep_order() -> None:
    threads: list[int] = []
    ex = HookExecutor()
    ex.add(HookHandler("w1", "message_received", "a", priority=1,
                       runtime=BlockingRuntime("w1", lambda d: Intercept({**d, "n": d["n"] + 1}), threads)))  # type: ignore[arg-type]
    ex.add(HookHandler("w2", "message_received", "b", priority=2,
                       runtime=BlockingRuntime("w2", lambda d: Intercept({**d, "n": d["n"] * 10}), threads)))  # type: ignore[arg-type]
    ex.add(HookHandler("w3", "message_received", "c", priority=3,
                       runtime=BlockingRuntime("w3", PluginCallError("w3", "trapped: unreachable"), threads)))  # type: ignore[arg-type]
    ex.add(h("py", lambda d: Intercept({**d, "n": d["n"] + 5}), event="message_received", priority=4))
    result = await ex.fire("message_received", {"n": 1})
    assert result.data == {"n": 25}
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()
    assert [r.decision for r in result.trace] == ["intercept", "intercept", "continue", "intercept"]
    assert "trapped" in result.trace[2].error


async def test_a_blocking_handler_block_stops_the_rest_of_the_batch() -> None:
    threads: list[int] = []
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(HookHandler("w1", "before_tool_call", "a", priority=1,
                       runtime=BlockingRuntime("w1", Block("wasm says no"), threads)))  # type: ignore[arg-type]
    ex.add(HookHandler("w2", "before_tool_call", "b", priority=2,
                       runtime=BlockingRuntime("w2", lambda d: calls.append("w2"), threads)))  # type: ignore[arg-type]
    result = await ex.fire("before_tool_call", {})
    assert result.decision == "block" and result.reason == "wasm says no" and calls == []


# -- matchers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("matcher", "tool", "expected"), [
    ("", "Bash", True), ("*", "anything", True),
    ("Bash", "Bash", True), ("Bash", "BashOutput", False), ("Bash", "bash", False),
    ("Edit|Write", "Write", True), ("Edit|Write", "Edit", True), ("Edit|Write", "MultiEdit", False),
    ("mcp__.*", "mcp__github__search", True), ("mcp__.*", "Bash", False),
    (".*", "Read", True), ("Notebook.*", "NotebookEdit", True), ("Edit.*", "MultiEdit", False),
    ("Bash", None, False), ("*", None, True),
])
def test_matcher_rules(matcher: str, tool: str | None, expected: bool) -> None:
    match = compile_matcher(matcher)
    assert (match is None or match(tool)) is expected


def test_an_invalid_regex_matcher_is_a_problem_and_never_matches() -> None:
    assert "not a valid regular expression" in (matcher_problem("Bash(") or "")
    assert matcher_problem("Edit|Write") is None and matcher_problem("mcp__.*") is None
    match = compile_matcher("Bash(")
    assert match is not None and match("Bash(") is False


async def test_matchers_filter_handlers_by_tool_name_from_any_key() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(h("bash-only", recorder(calls, "bash"), matcher="Bash"))
    ex.add(h("edits", recorder(calls, "edits"), matcher="Edit|Write"))
    ex.add(h("all", recorder(calls, "all"), matcher="*"))
    ex.add(h("broken", recorder(calls, "broken"), matcher="(("))
    await ex.fire("before_tool_call", {"tool_name": "Write"})
    await ex.fire("before_tool_call", {"tool": "Bash"})
    await ex.fire("before_tool_call", {"name": "Read"})
    assert calls == ["all", "edits", "all", "bash", "all"]  # plugin-id order within priority 0


async def test_session_matchers_look_at_the_source() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(h("sp", recorder(calls, "sp"), event="session_start", matcher="startup|clear|compact"))
    await ex.fire("SessionStart", {"source": "resume"})
    await ex.fire("SessionStart", {"source": "clear"})
    assert calls == ["sp"]


# -- registration, snapshots, tracing ---------------------------------------------------------------

async def test_undo_removes_a_handler_and_fire_uses_the_snapshot_it_started_with() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    undos: list[Any] = []

    def remover(data: dict[str, Any]) -> None:
        calls.append("remover")
        for undo in undos:
            undo()  # unloading mid-event (a reload) must not change this event's chain
        ex.add(h("newcomer", recorder(calls, "newcomer"), priority=9))

    ex.add(h("a", remover, priority=0))
    undos.append(ex.add(h("b", recorder(calls, "b"), priority=1)))
    await ex.fire("before_tool_call", {})
    assert calls == ["remover", "b"]
    calls.clear()
    undos.clear()
    await ex.fire("before_tool_call", {})
    assert calls == ["remover", "newcomer"]  # b is gone; the second newcomer waits for the next event


async def test_remove_plugin_drops_all_its_handlers() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(h("p", recorder(calls, "p1")))
    ex.add(h("p", recorder(calls, "p2"), event="after_tool_call"))
    ex.add(h("q", recorder(calls, "q")))
    ex.remove_plugin("p")
    await ex.fire("before_tool_call", {})
    await ex.fire("after_tool_call", {})
    assert calls == ["q"] and [x.plugin_id for x in ex.handlers()] == ["q"]


async def test_trace_ring_subscribers_and_sink_see_every_call() -> None:
    sunk: list[list[tuple[Any, ...]]] = []
    seen: list[TraceRecord] = []
    ex = HookExecutor(trace_sink=sunk.append, ring_size=5)
    ex.subscribe(seen.append)
    undo = ex.subscribe(lambda rec: (_ for _ in ()).throw(RuntimeError("broken UI")))  # must not break events
    ex.add(h("p", lambda d: Intercept({**d, "x": 1}), handler="rewrite"))
    for _ in range(4):
        result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    undo()
    assert result.decision == "intercept"
    assert len(seen) == 4 and len(sunk) == 4 and len(ex.recent(100)) == 4
    rec = ex.recent(1)[0]
    as_json = rec.to_json()
    assert set(as_json) == {"time", "event", "plugin", "handler", "decision", "duration_us", "error",
                            "modified_keys", "client"}
    assert (as_json["plugin"], as_json["handler"], as_json["decision"], as_json["modified_keys"]) == (
        "p", "rewrite", "intercept", ["x"])
    for _ in range(10):
        await ex.fire("before_tool_call", {})
    assert len(ex.recent(100)) == 5  # bounded ring


async def test_skipped_handlers_are_traced_but_never_run() -> None:
    calls: list[str] = []
    ex = HookExecutor()
    ex.add(HookHandler("cc", "before_tool_call", "prompt-hook", skip_reason="prompt hooks are not run by this app",
                       func=recorder(calls, "prompt")))
    result = await ex.fire("before_tool_call", {"tool_name": "Bash"})
    assert calls == [] and result.trace[0].decision == "skipped"
    assert "not run by this app" in result.trace[0].error


async def test_fire_result_json_shape() -> None:
    ex = HookExecutor()
    ex.add(h("p", lambda d: Block("nope")))
    out = (await ex.fire("before_tool_call", {"tool_name": "Bash"})).to_json()
    assert out["decision"] == "block" and out["reason"] == "nope" and out["data"] == {"tool_name": "Bash"}
    assert out["trace"][0]["plugin"] == "p"


async def test_runtime_observers_run_together_and_their_failures_change_nothing() -> None:
    threads: list[int] = []
    ex = HookExecutor()
    slow = SlowRuntime(answer=Block("ignored"), delay=0)
    ex.add(HookHandler("obs-async", "agent_end", "watch", kind="observer", runtime=slow))  # type: ignore[arg-type]
    ex.add(HookHandler("obs-wasm", "agent_end", "watch", kind="observer",
                       runtime=BlockingRuntime("w", PluginCallError("w", "trapped"), threads)))  # type: ignore[arg-type]
    ex.add(HookHandler("obs-hung", "agent_end", "watch", kind="observer", timeout_ms=50, fail_closed=True,
                       runtime=SlowRuntime()))  # type: ignore[arg-type]
    result = await ex.fire("Stop", {"turns": 3})
    assert (result.decision, result.reason, result.data) == ("continue", "", {"turns": 3})
    by_plugin = {r.plugin: r for r in result.trace}
    assert by_plugin["obs-async"].decision == "block"  # what it said is traced, but it changes nothing
    assert "trapped" in by_plugin["obs-wasm"].error and "timed out" in by_plugin["obs-hung"].error
    assert slow.calls[0][1] == {"event": "agent_end", "data": {"turns": 3}}
