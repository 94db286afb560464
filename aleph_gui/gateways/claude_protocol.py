"""Claude Code's command-hook protocol, both ways: a hook payload -> an Aleph event, a chain outcome -> an answer.

Checked against Claude Code's hooks reference (https://code.claude.com/docs/en/hooks) as published with
Claude Code 2.1.288 (October 2, 2026). The facts this module relies on:

- stdin: one JSON object with `hook_event_name`, `session_id`, `transcript_path`, `cwd` and the event's own
  fields (`tool_name`/`tool_input`/`tool_use_id` for tool events, `tool_response` after a tool, `prompt` for
  `UserPromptSubmit`, `source`/`trigger`/`reason`/`notification_type`/`agent_type` for the others).
- exit 0 and no output = no decision; exit 2 = block, stderr is the reason (JSON cannot override it); any other
  exit = a non-blocking error (the first stderr line is shown as "<hook> hook error").
- exit 2 blocks `PreToolUse` (stderr reaches Claude exactly like `permissionDecision: "deny"`), rejects a
  `UserPromptSubmit` prompt (stderr shown to the user), keeps Claude working on `Stop`/`SubagentStop` (stderr
  is its next instruction), blocks `PreCompact`; after a tool (`PostToolUse`, `PostToolUseFailure`) stderr
  reaches Claude; `SessionStart`, `SessionEnd`, `SubagentStart`, `PostCompact` show stderr to the user only;
  `Notification` and `Setup` ignore it. `PermissionRequest` does NOT honour exit 2: it is denied with
  `hookSpecificOutput.decision = {"behavior": "deny", "message": ...}`.
- `hookSpecificOutput.additionalContext` is read on `PreToolUse`, `PostToolUse`, `PostToolUseFailure`,
  `UserPromptSubmit`, `SessionStart`, `SubagentStart`, `Stop` and `SubagentStop` (on the last two it keeps
  the conversation going so Claude can act on it).
- rewrites: `PreToolUse` `hookSpecificOutput.updatedInput` replaces the whole tool input, and the normal
  permission flow then judges the rewritten input; `PostToolUse` `hookSpecificOutput.updatedToolOutput`
  replaces what Claude sees of the result. A submitted prompt cannot be replaced, and a `PermissionRequest`
  can only take a new input together with an "allow" it is not Aleph's place to give.
- `continue: false` + `stopReason` stops Claude entirely (Aleph has no such decision, so it is never sent);
  `systemMessage` is a warning shown to the user (discarded on `Notification`, `Setup`, `PreCompact`,
  `PostCompact`); `suppressOutput` has no effect.

Decisions (see docs/agents.md): a block is always exit 2 with the reason on stderr — the one form every Claude
Code version honours and no JSON can override — except on `PermissionRequest`, where only the JSON denial
works. A `PreToolUse` rewrite is sent as `updatedInput` alone, without a `permissionDecision`: Aleph changes
the call but never approves it on the user's behalf, so Claude Code's own rules and prompts still apply.
"""

from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple

# The one import from the core. It moves to the leaf module `aleph_gui.core.hook_events` (then this bridge no
# longer imports asyncio at all); keep it on this single line.
from aleph_gui.core.hook_events import CLAUDE_ALIASES

# Claude events that read `hookSpecificOutput.additionalContext`.
CONTEXT_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "UserPromptSubmit",
                            "SessionStart", "SubagentStart", "Stop", "SubagentStop"})
# Claude events that discard `systemMessage` (SessionEnd: the session is over, nobody sees it).
SILENT_EVENTS = frozenset({"Notification", "Setup", "PreCompact", "PostCompact", "SessionEnd"})
# Claude events without matcher support (a matcher there is ignored; the installer omits it).
MATCHERLESS_EVENTS = frozenset({"UserPromptSubmit", "Stop"})
# What an Aleph rewrite of a field Claude sent becomes, per event.
REWRITES: dict[str, dict[str, str]] = {
    "PreToolUse": {"tool_input": "updatedInput"},
    "PostToolUse": {"tool_response": "updatedToolOutput"},
}
# Claude's field -> the names Aleph handlers use for it (runtime/command.py `hook_input` maps the other way).
ALEPH_NAMES: dict[str, tuple[str, ...]] = {
    "tool_input": ("arguments",),
    "prompt": ("text",),
    "tool_response": ("result",),
}
# Aleph data key holding text for Claude's context (runtime/command.py reads `additionalContext` into it).
CONTEXT_KEY = "additional_context"
DECISIONS = ("continue", "intercept", "block")
_MISSING = object()


class ClaudeAnswer(NamedTuple):
    """What the hook process ends with: its exit status and what it prints."""

    exit_code: int
    stdout: str
    stderr: str


class ClaudeProtocolError(ValueError):
    """A payload or chain outcome this bridge cannot map; `str(err)` is one sentence for Claude's transcript."""


def claude_events() -> list[str]:
    """Every Claude Code event the Aleph chain handles, in CLAUDE_ALIASES order."""
    return list(CLAUDE_ALIASES)


def event_from_claude(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A Claude hook payload -> (canonical Aleph event, the data the Aleph chain receives).

    The data keeps every field Claude sent and adds Aleph's names for them: `arguments` for `tool_input`,
    `text` for `prompt`, `result` for `tool_response` (copies, so a handler editing them in place does not
    change what the answer compares against).
    """
    if not isinstance(payload, dict):
        raise ClaudeProtocolError(f"the hook input is a JSON {_json_kind(payload)}, not an object")
    name = payload.get("hook_event_name")
    if not isinstance(name, str) or not name:
        raise ClaudeProtocolError("the hook input has no hook_event_name")
    event = CLAUDE_ALIASES.get(name)
    if event is None:
        raise ClaudeProtocolError(f"Claude Code sent the hook event {name!r}, which Aleph has no event for "
                                  f"(it handles {', '.join(CLAUDE_ALIASES)})")
    data = copy.deepcopy(payload)
    for field, aleph_names in ALEPH_NAMES.items():
        if field in payload:
            for aleph_name in aleph_names:
                data.setdefault(aleph_name, copy.deepcopy(payload[field]))
    return event, data


def answer_for_claude(claude_event: str, original: dict[str, Any], result: dict[str, Any]) -> ClaudeAnswer:
    """The Aleph chain's outcome (`FireResult.to_json()`) as Claude Code's answer to `original`."""
    decision = result.get("decision") if isinstance(result, dict) else None
    if decision not in DECISIONS:
        raise ClaudeProtocolError(f"the Aleph chain answered the decision {decision!r}, "
                                  f"not one of {', '.join(DECISIONS)}")
    if decision == "continue":
        return ClaudeAnswer(0, "", "")
    if decision == "block":
        return _block(claude_event, result)
    data = result.get("data")
    if not isinstance(data, dict):
        raise ClaudeProtocolError("the Aleph chain intercepted the event but its data is not a JSON object")
    return _intercept(claude_event, original, data, _plugins(result, "intercept"))


def _block(claude_event: str, result: dict[str, Any]) -> ClaudeAnswer:
    reason = str(result.get("reason") or "").strip() or "blocked by an Aleph plugin"
    blockers = _plugins(result, "block")
    if blockers and not reason.startswith(blockers[-1]):
        reason = f"{reason} (Aleph plugin {blockers[-1]})"
    if claude_event == "PermissionRequest":
        # Exit 2 is not honoured here; only the decision object denies a permission request.
        answer = {"hookSpecificOutput": {"hookEventName": claude_event,
                                         "decision": {"behavior": "deny", "message": reason}}}
        return ClaudeAnswer(0, _dump(answer), "")
    return ClaudeAnswer(2, "", reason + "\n")


def _intercept(claude_event: str, original: dict[str, Any], data: dict[str, Any],
               plugins: list[str]) -> ClaudeAnswer:
    specific: dict[str, Any] = {}
    not_taken: list[str] = []
    rewrites = REWRITES.get(claude_event, {})
    for field in original:
        changed, value = _changed(field, original, data)
        if not changed:
            continue
        output_field = rewrites.get(field)
        if output_field is not None and (field != "tool_input" or isinstance(value, dict)):
            specific[output_field] = value
        else:
            not_taken.append(field)
    context = data.get(CONTEXT_KEY)
    if isinstance(context, str) and context.strip() and context != original.get(CONTEXT_KEY):
        if claude_event in CONTEXT_EVENTS:
            specific["additionalContext"] = context
        else:
            not_taken.append(CONTEXT_KEY)
    answer: dict[str, Any] = {}
    if specific:
        answer["hookSpecificOutput"] = {"hookEventName": claude_event, **specific}
    note = ""
    if not_taken:
        who = ", ".join(plugins) or "an Aleph plugin"
        note = (f"Aleph: {who} changed {', '.join(not_taken)} of this {claude_event} event, which Claude Code "
                f"cannot take; it went on unchanged.")
        if claude_event not in SILENT_EVENTS:
            answer["systemMessage"] = note  # the only channel the user sees on exit 0
    return ClaudeAnswer(0, _dump(answer) if answer else "", note + "\n" if note else "")


def _changed(field: str, original: dict[str, Any], data: dict[str, Any]) -> tuple[bool, Any]:
    """Did the chain change a field Claude sent? Aleph's name wins over Claude's when both changed."""
    before = original.get(field, _MISSING)
    for name in (*ALEPH_NAMES.get(field, ()), field):
        value = data.get(name, _MISSING)
        if value is not _MISSING and value != before:
            return True, value
    return False, None


def _plugins(result: dict[str, Any], decision: str) -> list[str]:
    trace = result.get("trace")
    if not isinstance(trace, list):
        return []
    out: list[str] = []
    for record in trace:
        if isinstance(record, dict) and record.get("decision") == decision:
            plugin = str(record.get("plugin") or "")
            if plugin and plugin not in out:
                out.append(plugin)
    return out


def _dump(answer: dict[str, Any]) -> str:
    return json.dumps(answer, ensure_ascii=False) + "\n"


def _json_kind(value: Any) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
