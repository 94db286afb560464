"""The built-in tool rate limiter (WASM, real Extism, real kv in SQLite, real HookExecutor): a tool
called more often than its limit per minute is blocked with a reason that says which setting to
change; it is allowed again once its counted calls are a minute old; limits per tool override the
default; the count survives a reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builtin_support import RATE_LIMITER, Loaded, load_builtin
from runtime_support import OWNER
from wasm_support import make_runtime

from aleph_gui.core.hooks import HookExecutor
from aleph_gui.core.loader import hook_handlers
from aleph_gui.core.state import StateDB

PLUGIN = "tool-rate-limiter"


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "state.db")
    yield db
    db.close()


async def limiter(state: StateDB, **config: Any) -> Loaded:
    return await load_builtin(RATE_LIMITER, state, config)


async def decisions(lim: Loaded, tool: str, times: int, **kw: Any) -> list[str]:
    return [(await lim.call(tool, {"q": i}, **kw)).decision for i in range(times)]


def counted(state: StateDB, key: str) -> int:
    """Calls recorded in the plugin's kv row ("<second>:<calls>,...")."""
    raw = state.kv_get(PLUGIN, OWNER, key)
    return sum(int(part.split(":")[1]) for part in raw.decode().split(",")) if raw else 0


def age_recorded_calls(state: StateDB, key: str, seconds: int) -> None:
    """Make the recorded calls `seconds` older: what the plugin sees once that much time has passed
    (the clock is the host's; the test moves the record instead of waiting a minute)."""
    raw = state.kv_get(PLUGIN, OWNER, key)
    assert raw is not None
    shifted = [f"{int(s) - seconds}:{c}" for s, c in (part.split(":") for part in raw.decode().split(","))]
    state.kv_set(PLUGIN, OWNER, key, ",".join(shifted).encode())


async def test_blocks_a_tool_past_its_limit_with_a_reason_naming_the_setting(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=5)
    assert await decisions(lim, "search", 5) == ["continue"] * 5
    blocked = await lim.call("search", {"q": "again"})
    assert blocked.decision == "block"
    assert re.fullmatch(r"Tool 'search' of plugin 'files' was called 5 times in the last minute; the limit is 5 "
                        r"\(setting max_calls_per_minute\)\. It can be called again in \d+ s\.", blocked.reason)
    assert [(r.plugin, r.decision) for r in blocked.trace] == [(PLUGIN, "block")]
    # other tools, and the same tool name of another plugin, have their own count
    assert await decisions(lim, "read", 5) == ["continue"] * 5
    assert (await lim.call("search", {}, plugin="web")).decision == "continue"
    # blocked calls are not counted: the tool is free again as soon as its counted calls age out
    assert counted(state, "calls:files/search") == 5


async def test_a_blocked_tool_is_allowed_again_after_the_window(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=3)
    assert await decisions(lim, "fetch", 4) == ["continue"] * 3 + ["block"]
    age_recorded_calls(state, "calls:files/fetch", 59)
    assert (await lim.call("fetch", {})).decision == "block"  # 59 s later: still within the minute
    age_recorded_calls(state, "calls:files/fetch", 2)
    assert await decisions(lim, "fetch", 4) == ["continue"] * 3 + ["block"]
    # the old calls left the record; only the new ones are kept
    assert counted(state, "calls:files/fetch") == 3


async def test_the_reason_says_when_the_tool_can_be_called_again(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=2)
    await decisions(lim, "fetch", 2)
    age_recorded_calls(state, "calls:files/fetch", 45)
    wait = int(re.search(r"again in (\d+) s", (await lim.call("fetch", {})).reason).group(1))  # type: ignore[union-attr]
    assert 13 <= wait <= 15


async def test_limits_per_tool_override_the_default(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=3,
                        tool_limits={"files/write": 1, "Bash": 2, "ls": 0})
    assert await decisions(lim, "write", 2) == ["continue", "block"]
    write = await lim.call("write", {})
    assert "was called 1 time in the last minute; the limit is 1 (setting tool_limits.files/write)" in write.reason
    # a plain tool name applies to that tool of any plugin, and to Claude's tool calls (no plugin)
    assert await decisions(lim, "Bash", 3, plugin=None, spelling="tool_input") == ["continue"] * 2 + ["block"]
    bash = await lim.call("Bash", {}, plugin=None, spelling="tool_input")
    assert bash.reason.startswith("Tool 'Bash' was called 2 times") and "(setting tool_limits.Bash)" in bash.reason
    assert await decisions(lim, "Bash", 3, plugin="shell") == ["continue"] * 2 + ["block"]
    # 0 = no limit
    assert await decisions(lim, "ls", 10) == ["continue"] * 10
    assert state.kv_get(PLUGIN, OWNER, "calls:files/ls") is None


async def test_zero_turns_the_default_limit_off(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=0, tool_limits={"delete": 1})
    assert await decisions(lim, "search", 200) == ["continue"] * 200
    assert await decisions(lim, "delete", 2) == ["continue", "block"]


async def test_the_default_limit_is_generous(state: StateDB) -> None:
    lim = await limiter(state)
    assert lim.manifest.config_defaults == {"max_calls_per_minute": 120, "tool_limits": {}}
    assert await decisions(lim, "search", 121) == ["continue"] * 120 + ["block"]


async def test_the_count_survives_a_reload(state: StateDB) -> None:
    first = await limiter(state, max_calls_per_minute=4)
    assert await decisions(first, "search", 3) == ["continue"] * 3
    await first.harness.runtime.stop()
    again = await limiter(state, max_calls_per_minute=4)
    assert await decisions(again, "search", 2) == ["continue", "block"]


async def test_a_tool_name_inside_the_arguments_is_not_the_tools_name(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=1)
    assert (await lim.call("search", {"tool_name": "other", "plugin": "evil"})).decision == "continue"
    assert (await lim.call("search", {"tool_name": "other"})).decision == "block"
    assert counted(state, "calls:files/search") == 1 and state.kv_get(PLUGIN, OWNER, "calls:evil/other") is None


async def test_a_call_without_a_tool_name_passes_untouched(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=1)
    for _ in range(3):
        result = await lim.executor.fire("before_tool_call", {"arguments": {"q": 1}})
        assert result.decision == "continue" and result.trace[0].error == ""


async def test_bad_settings_are_reported_and_the_defaults_apply(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute="lots", tool_limits={"write": "few", "read": 1})
    assert await decisions(lim, "read", 2) == ["continue", "block"]
    warnings = [msg for level, msg in lim.harness.logs if level == "warning"]
    assert "max_calls_per_minute is not a whole number >= 0; using 120" in warnings
    assert "tool_limits: the limit for 'write' is not a whole number >= 0; max_calls_per_minute applies to it" \
        in warnings
    assert await decisions(lim, "write", 121) == ["continue"] * 120 + ["block"]


async def test_a_very_long_tool_name_still_gets_its_own_count(state: StateDB) -> None:
    lim = await limiter(state, max_calls_per_minute=1)
    long_a, long_b = "a" * 300, "a" * 299 + "b"
    assert await decisions(lim, long_a, 2) == ["continue", "block"]
    assert (await lim.call(long_b, {})).decision == "continue"


async def test_many_calls_do_not_exhaust_the_plugins_memory(state: StateDB) -> None:
    # every call parses and writes its record in WASM memory; with 1 MiB a leak would run out
    lim = await limiter(state)
    small = lim.manifest.model_copy(update={"limits": lim.manifest.limits.model_copy(update={"memory_mb": 1})})
    harness = make_runtime(RATE_LIMITER, small, state)
    await harness.runtime.start()
    executor = HookExecutor()
    for handler in hook_handlers(small, harness.runtime):
        executor.add(handler)
    for i in range(2000):
        result = await executor.fire("before_tool_call", {"tool_name": f"tool{i % 10}", "arguments": {"i": i}})
        assert result.trace[0].error == ""
        assert result.decision == ("continue" if i < 1200 else "block")
