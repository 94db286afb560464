"""Claude Code command hooks, case by case, with real shell scripts run by /bin/sh."""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from runtime_support import runtime_context

from aleph_gui.core.errors import PLUGIN_TEXT_CAP, TRUNCATED, PluginNotRunnable
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.loader import hook_handlers
from aleph_gui.core.manifest.claude import parse_claude_plugin
from aleph_gui.core.runtime.command import CommandRuntime
from aleph_gui.core.scope import FileAccess
from aleph_gui.core.state import StateDB

DEMO = Path(__file__).resolve().parent.parent / "plugins_demo" / "claude-safety-guard"


def make_plugin(tmp_path: Path, script: str, *, event: str = "PreToolUse", matcher: str = "Bash",
                timeout: float | None = None, extra_hooks: list[dict[str, Any]] | None = None) -> Path:
    root = tmp_path / "cc-plugin"
    (root / ".claude-plugin").mkdir(parents=True)
    (root / "hooks").mkdir()
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": "cc-test", "version": "1.0.0"}))
    hook_script = root / "hooks" / "hook.sh"
    hook_script.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    hook_script.chmod(0o755)
    hook: dict[str, Any] = {"type": "command", "command": 'sh "${CLAUDE_PLUGIN_ROOT}/hooks/hook.sh"'}
    if timeout is not None:
        hook["timeout"] = timeout
    config = {"hooks": {event: [{"matcher": matcher, "hooks": [hook, *(extra_hooks or [])]}]}}
    (root / "hooks" / "hooks.json").write_text(json.dumps(config))
    return root


async def load(root: Path, tmp_path: Path, **handler_kw: Any) -> tuple[HookExecutor, CommandRuntime, list[str]]:
    result = parse_claude_plugin(root, ".claude-plugin/plugin.json")
    assert result.manifest is not None, result.problems
    logs: list[str] = []
    # The hooks run in the plugin's OS sandbox: the tests grant it this test's folder, where they look
    # at what the hook wrote.
    granted = result.manifest.scope.model_copy(update={"file_access": FileAccess(mode="read_write",
                                                                                 paths=[str(tmp_path)])})
    ctx = runtime_context(result.manifest, root, StateDB(tmp_path / "state.db"), scope=granted,
                          log=lambda lvl, msg: logs.append(f"{lvl}: {msg}"))
    runtime = CommandRuntime(ctx)
    await runtime.start()
    ex = HookExecutor()
    for handler in hook_handlers(result.manifest, runtime):
        for key, value in handler_kw.items():
            setattr(handler, key, value)
        ex.add(handler)
    return ex, runtime, logs


async def fire(tmp_path: Path, script: str, data: dict[str, Any] | None = None, **kw: Any) -> tuple[FireResult, list[str]]:
    handler_kw = {k: kw.pop(k) for k in ("fail_closed",) if k in kw}
    ex, runtime, logs = await load(make_plugin(tmp_path, script, **kw), tmp_path, **handler_kw)
    try:
        result = await ex.fire(kw.get("event", "PreToolUse"), data if data is not None else
                               {"tool_name": "Bash", "tool_input": {"command": "ls"}})
    finally:
        await runtime.stop()
    return result, logs


BASH = {"tool_name": "Bash", "tool_input": {"command": "rm -rf /tmp/x"}}


async def test_exit_0_without_output_continues(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "cat > /dev/null\nexit 0\n")
    assert result.decision == "continue" and result.trace[0].error == ""


async def test_exit_2_blocks_with_stderr_as_the_reason(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "echo 'rm -rf is not allowed here' >&2\nexit 2\n", BASH)
    assert result.decision == "block"
    assert result.reason == "rm -rf is not allowed here"


async def test_other_exit_codes_are_non_blocking_errors(tmp_path: Path) -> None:
    result, logs = await fire(tmp_path, "echo 'jq: command not found' >&2\nexit 1\n", BASH)
    assert result.decision == "continue"
    assert "exited with status 1" in result.trace[0].error and "jq: command not found" in result.trace[0].error
    assert any("jq: command not found" in line for line in logs)


async def test_other_exit_codes_block_when_fail_closed(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "exit 3\n", BASH, fail_closed=True)
    assert result.decision == "block" and "exited with status 3" in result.reason


async def test_the_hook_reads_the_event_json_and_claude_environment(tmp_path: Path) -> None:
    out = tmp_path / "seen.json"
    script = f"""
    cat > "{out}"
    printf '%s\\n%s\\n' "$CLAUDE_PLUGIN_ROOT" "$CLAUDE_PROJECT_DIR" > "{out}.env"
    """
    result, _ = await fire(tmp_path, script, {"tool_name": "Bash", "tool_input": {"command": "ls"},
                                              "cwd": str(tmp_path)})
    assert result.decision == "continue"
    seen = json.loads(out.read_text())
    assert seen["hook_event_name"] == "PreToolUse"
    assert seen["tool_name"] == "Bash" and seen["tool_input"] == {"command": "ls"}
    assert seen["cwd"] == str(tmp_path) and seen["session_id"]
    root, project = Path(f"{out}.env").read_text().splitlines()
    assert Path(root) == (tmp_path / "cc-plugin").resolve() and project == str(tmp_path)


async def test_json_decision_block(tmp_path: Path) -> None:
    script = """echo '{"decision": "block", "reason": "use trash instead of rm"}'\n"""
    result, _ = await fire(tmp_path, script, BASH)
    assert (result.decision, result.reason) == ("block", "use trash instead of rm")


async def test_json_permission_decision_deny_blocks(tmp_path: Path) -> None:
    script = """cat <<'EOF'
{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
 "permissionDecisionReason": "writes outside the project"}}
EOF
"""
    result, _ = await fire(tmp_path, script, BASH)
    assert (result.decision, result.reason) == ("block", "writes outside the project")


async def test_json_permission_allow_continues(tmp_path: Path) -> None:
    script = """echo '{"hookSpecificOutput": {"permissionDecision": "allow"}}'\n"""
    result, _ = await fire(tmp_path, script, BASH)
    assert result.decision == "continue"


async def test_json_updated_input_intercepts_the_tool_input(tmp_path: Path) -> None:
    script = """echo '{"hookSpecificOutput": {"permissionDecision": "allow", "updatedInput": {"command": "ls -la"}}}'\n"""
    result, _ = await fire(tmp_path, script, {"tool_name": "Bash", "tool_input": {"command": "ls"}})
    assert result.decision == "intercept"
    assert result.data == {"tool_name": "Bash", "tool_input": {"command": "ls -la"}}
    assert result.trace[0].modified_keys == ("tool_input",)


async def test_json_continue_false_blocks_with_stop_reason(tmp_path: Path) -> None:
    script = """echo '{"continue": false, "stopReason": "budget exhausted"}'\n"""
    result, _ = await fire(tmp_path, script, BASH)
    assert (result.decision, result.reason) == ("block", "budget exhausted")


async def test_plain_text_or_broken_json_on_stdout_continues(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "echo 'all good'\necho '{not json'\n", BASH)
    assert result.decision == "continue" and result.trace[0].error == ""


async def test_a_hung_hook_times_out_and_its_whole_process_group_is_killed(tmp_path: Path) -> None:
    script = """
    sleep 31 &
    sleep 30
    """
    ex, runtime, _ = await load(make_plugin(tmp_path, script, timeout=0.5), tmp_path)
    try:
        started = time.monotonic()
        result = await ex.fire("PreToolUse", BASH)
        assert time.monotonic() - started < 10
        assert result.decision == "continue" and "timed out after 500 ms" in result.trace[0].error

        def hook_processes() -> list[psutil.Process]:  # the hook's own and its background child
            return [p for p in psutil.Process().children(recursive=True)
                    if p.is_running() and p.status() != psutil.STATUS_ZOMBIE and p.cmdline()[:1] == ["sleep"]]

        deadline = time.monotonic() + 5
        while hook_processes():  # killed by the timeout, not by stopping the runtime: it still runs
            assert time.monotonic() < deadline, "the hook's background child survived the timeout"
            await asyncio.sleep(0.05)
    finally:
        await runtime.stop()


async def test_a_flooding_hook_is_capped_and_still_decides(tmp_path: Path) -> None:
    script = """
    head -c 5000000 /dev/zero | tr '\\0' 'x'
    head -c 5000000 /dev/zero | tr '\\0' 'y' >&2
    exit 2
    """
    result, _ = await fire(tmp_path, script, BASH)
    assert result.decision == "block"
    assert result.reason == "y" * PLUGIN_TEXT_CAP + TRUNCATED  # cut, and saying so


async def test_a_hook_that_ignores_stdin_is_fine(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "exit 0\n", {"tool_name": "Bash", "tool_input": {"command": "x" * 500_000}})
    assert result.decision == "continue" and result.trace[0].error == ""


async def test_matchers_decide_which_tools_reach_the_command(tmp_path: Path) -> None:
    result, _ = await fire(tmp_path, "exit 2\n", {"tool_name": "Read", "tool_input": {}}, matcher="Bash|Write")
    assert result.decision == "continue" and result.trace == []


async def test_prompt_hooks_are_listed_but_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    root = make_plugin(tmp_path, f"touch '{marker}'\n",
                       extra_hooks=[{"type": "prompt", "prompt": "Is this command safe?"}])
    ex, runtime, _ = await load(root, tmp_path)
    result = await ex.fire("before_tool_call", {"tool_name": "Bash", "tool_input": {}})
    await runtime.stop()
    assert [r.decision for r in result.trace] == ["continue", "skipped"]
    assert "not run by this app" in result.trace[1].error
    assert marker.exists()  # the command hook beside it did run
    prompt_handler = [c for c in runtime.ctx.manifest.of_type("hook") if c.details["hook_type"] == "prompt"][0]
    with pytest.raises(PluginNotRunnable, match="not run by this app"):
        await runtime.run_hook(prompt_handler.handler_name, {"event": "before_tool_call", "data": {}})


async def test_the_demo_safety_guard_blocks_rm_rf_and_lets_ls_through(tmp_path: Path) -> None:
    ex, runtime, _ = await load(DEMO, tmp_path)
    try:
        blocked = await ex.fire("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "rm -rf ~/"}})
        allowed = await ex.fire("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls -la"}})
        other_tool = await ex.fire("PreToolUse", {"tool_name": "Read", "tool_input": {"file_path": "rm -rf"}})
    finally:
        await runtime.stop()
    assert blocked.decision == "block" and "rm -rf" in blocked.reason
    assert allowed.decision == "continue" and allowed.trace and allowed.trace[0].error == ""
    assert other_tool.decision == "continue" and other_tool.trace == []


def test_no_process_is_left_behind(tmp_path: Path) -> None:
    children = psutil.Process(os.getpid()).children(recursive=True)
    assert [c for c in children if c.status() != psutil.STATUS_ZOMBIE and "sleep" in " ".join(c.cmdline())] == []
