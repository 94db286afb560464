"""`aleph-ext claude hook` as Claude Code runs it: a process, a documented payload on stdin, an answer out."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from claude_payloads import payload

from aleph_gui.gateways.claude_hook import FAIL_CLOSED_ENV, main

RUNNER = Path(__file__).with_name("claude_hook_runner.py")
HEAVY = ("pydantic", "extism", "PySide6", "mcp", "jsonschema", "yaml", "aleph_gui.core.manager", "aleph_gui.ui")


def hook(chain: str, stdin: str | dict[str, Any], *, env: dict[str, str] | None = None,
         python_flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    data = stdin if isinstance(stdin, str) else json.dumps(stdin, ensure_ascii=False)
    return subprocess.run([sys.executable, *python_flags, str(RUNNER), chain], input=data.encode("utf-8"),
                          capture_output=True, timeout=60, env={**os.environ, **(env or {})})


def test_a_block_from_the_chain_is_exit_2_with_the_reason_on_stderr() -> None:
    done = hook("guard", payload("PreToolUse", tool_input={"command": "rm -rf ~/", "description": "clean"}))
    assert done.returncode == 2 and done.stdout == b""
    assert done.stderr.decode() == ("refusing to run 'rm -rf ~/': it deletes files recursively "
                                    "(Aleph plugin safety-guard)\n")


def test_the_same_guard_lets_a_harmless_call_through_silently() -> None:
    done = hook("guard", payload("PreToolUse"))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_a_rewritten_tool_input_is_answered_as_updated_input() -> None:
    done = hook("rewrite", payload("PreToolUse"))
    assert done.returncode == 0 and done.stderr == b""
    answer = json.loads(done.stdout)
    assert answer == {"hookSpecificOutput": {"hookEventName": "PreToolUse", "updatedInput": {
        "command": "npm test -- --bail", "description": "Run test suite", "timeout": 120000,
        "run_in_background": False}}}


@pytest.mark.parametrize("event", ["UserPromptSubmit", "Stop", "SessionStart", "Notification"])
def test_continue_is_exit_0_and_empty_stdout(event: str) -> None:
    done = hook("continue", payload(event))
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")


def test_context_survives_a_c_locale_as_utf8() -> None:
    prompt = payload("UserPromptSubmit", prompt="Réécris ça en 日本語 ☕")
    done = hook("context", prompt, env={"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.decode("utf-8"))
    assert answer["hookSpecificOutput"]["additionalContext"].startswith("Le café ☕")


@pytest.mark.parametrize(("stdin", "words"), [
    ("this is not json", "the hook input is not JSON"),
    ("", "Claude Code sent no hook input on stdin"),
    ("[1, 2]", "the hook input is a JSON array, not an object"),
    (json.dumps({"hook_event_name": "WorktreeCreate", "name": "feature-auth"}),
     "Claude Code sent the hook event 'WorktreeCreate', which Aleph has no event for"),
])
def test_bad_input_is_a_non_blocking_error_in_one_sentence(stdin: str, words: str) -> None:
    done = hook("continue", stdin)
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b""
    assert words in err and "Traceback" not in err and err.count("\n") == 1


def test_a_chain_that_fails_is_a_non_blocking_error() -> None:
    done = hook("raise", payload("PreToolUse"))
    err = done.stderr.decode()
    assert done.returncode == 1 and done.stdout == b"" and "Traceback" not in err
    assert err == ("aleph-ext claude hook (PreToolUse): Aleph could not run its before_tool_call hooks: "
                   "RuntimeError: the host went away mid-call\n")


def test_fail_closed_turns_a_bridge_failure_into_a_block() -> None:
    done = hook("raise", payload("PreToolUse"), env={FAIL_CLOSED_ENV: "1"})
    assert done.returncode == 2 and b"the host went away" in done.stderr


def test_the_hook_path_imports_nothing_heavy() -> None:
    """Claude runs this before every tool call: no pydantic, Extism, Qt, MCP SDK, jsonschema or YAML on the way."""
    done = hook("bare", payload("PreToolUse"), python_flags=("-X", "importtime"))
    assert (done.returncode, done.stdout) == (0, b""), done.stderr[-2000:]
    imported = {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|(.+)$",
                                                         done.stderr.decode(), re.M)}
    assert "aleph_gui.gateways.claude_protocol" in imported  # the measurement saw the bridge load
    heavy = sorted(name for name in imported if name.split(".")[0] in HEAVY or name.startswith(HEAVY))
    assert heavy == []


def test_main_writes_nothing_but_the_answer_to_the_streams_it_is_given() -> None:
    out, err = io.StringIO(), io.StringIO()
    result = {"decision": "block", "data": {}, "reason": "nope", "trace": []}
    code = main(io.StringIO(json.dumps(payload("Stop"))), out, err, lambda event, data: result)
    assert (code, out.getvalue(), err.getvalue()) == (2, "", "nope\n")
