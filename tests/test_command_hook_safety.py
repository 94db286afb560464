"""Command hooks never turn event data into shell text, and never see the app's secrets (issue 13, finding 7).

Before the fix the event's `cwd` was spliced unquoted into the command text in place of
`${CLAUDE_PROJECT_DIR}`: a payload, or any hook earlier in the chain, could set it to a folder
named `x;touch INJECTED;y` and run its own command. Now the command runs exactly as written and
the variables reach it only through the environment, which holds a small documented set of names.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from runtime_support import runtime_context

from aleph_gui.core.errors import PLUGIN_TEXT_CAP, TRUNCATED
from aleph_gui.core.hooks import FireResult, HookExecutor
from aleph_gui.core.loader import hook_handlers
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.manifest.claude import parse_claude_plugin
from aleph_gui.core.paths import Locations
from aleph_gui.core.runtime.command import CommandRuntime
from aleph_gui.core.runtime.sandboxing import PROCESS_ENV_KEPT
from aleph_gui.core.sandbox import PersistentSandbox, SandboxError, sandbox_status
from aleph_gui.core.state import StateDB

INJECTION = "x;touch INJECTED;y"
# Uses ${CLAUDE_PROJECT_DIR} unquoted, the way many real hooks do, and reports what it saw as its block
# reason (the hook runs in the plugin's OS sandbox: the block reason is how it speaks to the test).
# Spliced into the text, the folder's name would end the echo early and leave "x" as the reason.
PROBE = "echo ${CLAUDE_PROJECT_DIR} >&2; exit 2"


def claude_plugin(parent: Path, command: str, name: str = "cc-probe") -> Path:
    root = parent / name
    (root / ".claude-plugin").mkdir(parents=True)
    (root / "hooks").mkdir()
    (root / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": name, "version": "1.0.0"}))
    hooks = {"hooks": {"PreToolUse": [{"matcher": "", "hooks": [{"type": "command", "command": command}]}]}}
    (root / "hooks" / "hooks.json").write_text(json.dumps(hooks))
    return root


async def fire_once(root: Path, tmp_path: Path, data: dict[str, Any]) -> tuple[FireResult, list[str]]:
    result = parse_claude_plugin(root, ".claude-plugin/plugin.json")
    assert result.manifest is not None, result.problems
    logs: list[str] = []
    ctx = runtime_context(result.manifest, root, StateDB(tmp_path / "state.db"),
                          log=lambda level, msg: logs.append(f"{level}: {msg}"))
    runtime = CommandRuntime(ctx)
    await runtime.start()
    executor = HookExecutor()
    for handler in hook_handlers(result.manifest, runtime):
        executor.add(handler)
    try:
        return await executor.fire("PreToolUse", data), logs
    finally:
        await runtime.stop()


def injected_files(*roots: Path) -> list[str]:
    return [os.path.join(d, f) for r in roots for d, _, files in os.walk(r) for f in files if f == "INJECTED"]


async def test_a_cwd_in_the_payload_never_becomes_shell_text(tmp_path: Path) -> None:
    trap = tmp_path / INJECTION
    trap.mkdir()
    root = claude_plugin(tmp_path / "plugins", PROBE)
    result, _ = await fire_once(root, tmp_path, {"tool_name": "Bash", "cwd": str(trap)})
    assert result.decision == "block" and result.trace[0].error == ""
    assert injected_files(tmp_path, Path.cwd()) == []
    assert result.reason == str(trap)  # the hook still sees the right folder, as one value


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
async def test_a_hook_earlier_in_the_chain_cannot_inject_through_cwd(tmp_path: Path, locations: Locations) -> None:
    trap = tmp_path / INJECTION
    trap.mkdir()
    plugins = locations.user_plugins
    probe = claude_plugin(plugins, PROBE)
    mover = plugins / "cwd-mover"
    mover.mkdir()
    (mover / "package.json").write_text(json.dumps({"name": "cwd-mover", "version": "1.0.0", "main": "index.js",
                                                    "aleph": {"kind": "nodejs", "capabilities": [
                                                        {"type": "hook", "event": "before_tool_call",
                                                         "handler": "moveCwd", "priority": -10}]}}))
    (mover / "index.js").write_text(
        "module.exports = { register(api) { api.on('before_tool_call', function moveCwd(event) {\n"
        f"  return api.intercept({{ ...event.data, cwd: {json.dumps(str(trap))} }});\n"
        "}, { priority: -10 }); } };\n")
    async with ExtensionManager(locations) as m:
        await m.grant("cwd-mover")
        await m.grant("cc-probe")
        fired = await m.fire("PreToolUse", {"tool_name": "Bash", "cwd": str(tmp_path)})
    assert [(t.plugin, t.decision) for t in fired.trace] == [("cwd-mover", "intercept"), ("cc-probe", "block")]
    assert injected_files(tmp_path, Path.cwd(), probe) == []
    assert fired.reason == str(trap)


async def test_the_hook_gets_a_small_environment_without_the_apps_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("ALEPH_HOST_TOKEN", "token-test-secret-456")
    root = claude_plugin(tmp_path / "plugins", "env >&2; exit 2")
    result, _ = await fire_once(root, tmp_path, {"tool_name": "Bash", "cwd": str(tmp_path)})
    assert result.decision == "block"
    env = dict(line.split("=", 1) for line in result.reason.splitlines() if "=" in line)
    assert "secret" not in result.reason
    assert env["CLAUDE_PLUGIN_ROOT"] == str(root) and env["CLAUDE_PROJECT_DIR"] == str(tmp_path)
    # the app's PATH, or the sandbox's own system PATH
    assert env["ALEPH_PLUGIN_ID"] == "cc-probe" and env["PATH"] in (os.environ["PATH"], "/usr/local/bin:/usr/bin:/bin")
    # sh itself adds a few (PWD, SHLVL, _): everything else is on the documented list.
    allowed = set(PROCESS_ENV_KEPT) | {"CLAUDE_PLUGIN_ROOT", "CLAUDE_PROJECT_DIR", "ALEPH_PLUGIN_ID", "PWD", "SHLVL",
                                    "_", "OLDPWD", "HOME", "TMPDIR"}
    assert set(env) <= allowed, set(env) - allowed


async def test_a_huge_block_reason_is_cut_before_it_reaches_the_user(tmp_path: Path) -> None:
    root = claude_plugin(tmp_path / "plugins", "head -c 100000 /dev/zero | tr '\\\\0' 'r' >&2; exit 2")
    result, _ = await fire_once(root, tmp_path, {"tool_name": "Bash"})
    assert result.decision == "block"
    assert len(result.reason) == PLUGIN_TEXT_CAP + len(TRUNCATED) and result.reason.endswith(TRUNCATED)

    reason = "z" * 100_000
    answer = json.dumps({"decision": "block", "reason": reason})
    root = claude_plugin(tmp_path / "plugins", 'cat "${CLAUDE_PLUGIN_ROOT}/answer.json"', name="cc-json")
    (root / "answer.json").write_text(answer)
    result, _ = await fire_once(root, tmp_path, {"tool_name": "Bash"})
    assert result.decision == "block" and result.reason == "z" * PLUGIN_TEXT_CAP + TRUNCATED


async def test_a_hook_in_a_fresh_sandbox_gets_its_variables_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the long-lived sandbox cannot start, each hook gets its own bwrap — with the same variables."""
    if not sandbox_status().available:
        pytest.skip(f"no sandbox on this system: {sandbox_status().sentence}")

    async def cannot_start(*_args: Any, **_kwargs: Any) -> None:
        raise SandboxError("cc-probe", "no helper interpreter")

    monkeypatch.setattr(PersistentSandbox, "start", cannot_start)
    root = claude_plugin(tmp_path / "plugins", "echo \"$CLAUDE_PLUGIN_ROOT|$CLAUDE_PROJECT_DIR\" >&2; exit 2")
    result, logs = await fire_once(root, tmp_path, {"tool_name": "Bash", "cwd": str(tmp_path)})
    assert any("each hook gets its own" in line for line in logs), logs
    assert result.decision == "block" and result.reason == f"{root}|{tmp_path}"
