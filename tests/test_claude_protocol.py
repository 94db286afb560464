"""Claude Code's hook protocol, both ways: documented payloads in, documented answers out.

The chain outcomes come from a real HookExecutor with built-in handlers, so they have exactly the shape the
host returns (`FireResult.to_json()`), trace included.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from claude_payloads import PAYLOADS, payload

from aleph_gui.core.hook_events import CLAUDE_ALIASES
from aleph_gui.core.hook_result import Block, HookResult, Intercept
from aleph_gui.core.hooks import HookExecutor, HookHandler
from aleph_gui.core.runtime.command import hook_input
from aleph_gui.gateways.claude_protocol import (
    CONTEXT_EVENTS,
    SILENT_EVENTS,
    ClaudeProtocolError,
    answer_for_claude,
    event_from_claude,
)

Handler = Callable[[dict[str, Any]], HookResult | None]


def run_chain(claude_payload: dict[str, Any], *handlers: tuple[str, Handler]) -> dict[str, Any]:
    """Map the payload, fire it through a real executor with these (plugin, handler) pairs; the outcome as JSON."""
    event, data = event_from_claude(claude_payload)
    executor = HookExecutor()
    for plugin, func in handlers:
        executor.add(HookHandler(plugin_id=plugin, event=event, handler="on_event", func=func))
    return asyncio.run(executor.fire(event, data)).to_json()


def answer(claude_payload: dict[str, Any], *handlers: tuple[str, Handler]):
    result = run_chain(claude_payload, *handlers)
    return answer_for_claude(claude_payload["hook_event_name"], claude_payload, result)


def rewrite(**changes: Any) -> Handler:
    return lambda data: Intercept({**data, **changes})


# -- Claude -> Aleph ---------------------------------------------------------------------------------


def test_the_payloads_cover_every_event_the_chain_handles() -> None:
    assert set(PAYLOADS) == set(CLAUDE_ALIASES)


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_each_claude_event_becomes_its_aleph_event_with_every_field_kept(name: str) -> None:
    event, data = event_from_claude(payload(name))
    assert event == CLAUDE_ALIASES[name]
    assert {k: data[k] for k in PAYLOADS[name]} == PAYLOADS[name]


def test_aleph_handlers_get_their_own_names_for_tool_input_prompt_and_result() -> None:
    original = payload("PreToolUse")
    _, data = event_from_claude(original)
    assert data["tool_name"] == "Bash" and data["arguments"] == original["tool_input"]
    data["arguments"]["command"] = "changed in place"  # a handler editing its copy does not edit Claude's
    assert original["tool_input"]["command"] == "npm test" and data["tool_input"]["command"] == "npm test"
    assert event_from_claude(payload("UserPromptSubmit"))[1]["text"].startswith("Write a function")
    assert event_from_claude(payload("PostToolUse"))[1]["result"] == {"filePath": "/path/to/file.txt",
                                                                      "type": "create"}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_the_mapping_round_trips_through_the_command_hook_runtime(name: str) -> None:
    """Aleph's command-hook runtime maps Aleph data back to a Claude payload: we get Claude's fields back."""
    event, data = event_from_claude(payload(name))
    again = hook_input(event, data, session_id="other", cwd="/elsewhere")
    for key, value in PAYLOADS[name].items():
        assert again[key] == value, key


@pytest.mark.parametrize(("bad", "words"), [
    ({"hook_event_name": "PostToolBatch", "tool_calls": []}, "'PostToolBatch', which Aleph has no event for"),
    ({"session_id": "abc123", "tool_name": "Bash"}, "no hook_event_name"),
    ([{"hook_event_name": "PreToolUse"}], "a JSON array, not an object"),
])
def test_input_that_is_not_a_known_hook_payload_is_a_clear_error(bad: Any, words: str) -> None:
    with pytest.raises(ClaudeProtocolError, match=words.replace("(", r"\(").replace(")", r"\)")):
        event_from_claude(bad)


# -- Aleph -> Claude ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_continue_is_exit_0_with_no_output(name: str) -> None:
    seen: list[dict[str, Any]] = []
    assert answer(payload(name), ("observer", lambda d: seen.append(d))) == (0, "", "")
    assert seen and seen[0]["hook_event_name"] == name


@pytest.mark.parametrize("name", sorted(set(PAYLOADS) - {"PermissionRequest"}))
def test_block_is_exit_2_with_the_reason_on_stderr(name: str) -> None:
    result = answer(payload(name), ("guard", lambda d: Block("rm -rf of your home is not allowed")))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "rm -rf of your home is not allowed (Aleph plugin guard)\n"


def test_a_block_without_a_reason_still_says_who_blocked() -> None:
    result = answer(payload("PreToolUse"), ("guard", lambda d: Block("")))
    assert result.exit_code == 2 and "guard" in result.stderr


def test_block_of_a_permission_request_is_the_json_denial_claude_honours() -> None:
    result = answer(payload("PermissionRequest"), ("guard", lambda d: Block("no deleting node_modules")))
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout) == {"hookSpecificOutput": {
        "hookEventName": "PermissionRequest",
        "decision": {"behavior": "deny", "message": "no deleting node_modules (Aleph plugin guard)"}}}


def test_a_tool_input_rewritten_by_an_aleph_handler_becomes_updated_input() -> None:
    safer = {"command": "npm test -- --bail", "description": "Run test suite", "timeout": 120000,
             "run_in_background": False}
    result = answer(payload("PreToolUse"), ("sanitizer", rewrite(arguments=safer)))
    assert result.exit_code == 0
    # updatedInput alone: the rewritten call still goes through Claude's own permission rules and prompts
    assert json.loads(result.stdout) == {"hookSpecificOutput": {"hookEventName": "PreToolUse",
                                                                "updatedInput": safer}}


def test_a_tool_input_rewritten_under_claudes_name_becomes_updated_input() -> None:
    """A Claude command-hook plugin in the chain answers `updatedInput`, which the runtime puts in tool_input."""
    result = answer(payload("PreToolUse"), ("claude-plugin", rewrite(tool_input={"command": "ls"})))
    assert json.loads(result.stdout)["hookSpecificOutput"]["updatedInput"] == {"command": "ls"}


def test_a_rewritten_tool_result_becomes_updated_tool_output() -> None:
    result = answer(payload("PostToolUse"), ("redactor", rewrite(result={"filePath": "[redacted]", "type": "create"})))
    assert json.loads(result.stdout) == {"hookSpecificOutput": {
        "hookEventName": "PostToolUse", "updatedToolOutput": {"filePath": "[redacted]", "type": "create"}}}


@pytest.mark.parametrize("name", sorted(CONTEXT_EVENTS))
def test_additional_context_reaches_claude_on_every_event_that_reads_it(name: str) -> None:
    result = answer(payload(name), ("ctx", rewrite(additional_context="The deploy target is staging.")))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"hookSpecificOutput": {
        "hookEventName": name, "additionalContext": "The deploy target is staging."}}


def test_a_prompt_rewrite_claude_cannot_take_is_told_to_the_user() -> None:
    result = answer(payload("UserPromptSubmit"), ("rewriter", rewrite(text="something else")))
    out = json.loads(result.stdout)
    assert result.exit_code == 0 and "hookSpecificOutput" not in out
    assert "rewriter changed prompt" in out["systemMessage"] and "went on unchanged" in out["systemMessage"]


def test_a_permission_request_rewrite_is_not_turned_into_an_approval() -> None:
    result = answer(payload("PermissionRequest"), ("rewriter", rewrite(arguments={"command": "rm -rf /"})))
    out = json.loads(result.stdout)
    assert "hookSpecificOutput" not in out and "tool_input" in out["systemMessage"]


@pytest.mark.parametrize("name", sorted(SILENT_EVENTS))
def test_where_claude_discards_messages_a_change_it_cannot_take_goes_to_its_debug_log(name: str) -> None:
    result = answer(payload(name), ("ctx", rewrite(additional_context="noted")))
    assert result.exit_code == 0 and result.stdout == ""
    assert "ctx changed additional_context" in result.stderr


def test_a_non_object_tool_input_is_not_sent_as_updated_input() -> None:
    result = answer(payload("PreToolUse"), ("broken", rewrite(arguments="rm -rf /")))
    out = json.loads(result.stdout)
    assert "hookSpecificOutput" not in out and "broken changed tool_input" in out["systemMessage"]


def test_an_intercept_that_changes_nothing_claude_sent_is_silent() -> None:
    result = answer(payload("PreToolUse"), ("tagger", rewrite(aleph_seen=True)))
    assert result == (0, "", "")


def test_an_aleph_rewrite_wins_over_a_stale_claude_field() -> None:
    result = answer(payload("PreToolUse"), ("a", rewrite(tool_input={"command": "old"}, arguments={"command": "new"})))
    assert json.loads(result.stdout)["hookSpecificOutput"]["updatedInput"] == {"command": "new"}


@pytest.mark.parametrize("result", [{"decision": "allow"}, {}, "block", {"decision": "intercept", "data": []}])
def test_a_chain_outcome_that_is_not_one_is_refused(result: Any) -> None:
    with pytest.raises(ClaudeProtocolError):
        answer_for_claude("PreToolUse", payload("PreToolUse"), result)
