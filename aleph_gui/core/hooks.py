"""Hook events and the executor that runs every listening plugin in order.

Event names: the canonical names are snake_case (Aleph's); Claude Code's PascalCase names
(`PreToolUse`, ...) are aliases. The executor is on the hot path of every event, so built-in
Python handlers are called inline and tracing is an append to a bounded ring.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache


class HookEvent(StrEnum):
    """Every event a plugin can listen to (canonical names)."""

    # Aleph's design document
    MESSAGE_RECEIVED = "message_received"
    TOOL_INVOKED = "tool_invoked"
    RESPONSE_GENERATED = "response_generated"
    # Aleph
    BEFORE_TOOL_CALL = "before_tool_call"
    AFTER_TOOL_CALL = "after_tool_call"
    TOOL_CALL_FAILED = "tool_call_failed"
    TOOL_RESULT_PERSIST = "tool_result_persist"
    MESSAGE_SENDING = "message_sending"
    MESSAGE_SENT = "message_sent"
    SESSION_START = "session_start"
    SESSION_END = "session_end"
    BEFORE_AGENT_START = "before_agent_start"
    AGENT_END = "agent_end"
    SUBAGENT_START = "subagent_start"
    SUBAGENT_END = "subagent_end"
    BEFORE_COMPACTION = "before_compaction"
    AFTER_COMPACTION = "after_compaction"
    NOTIFICATION = "notification"
    PERMISSION_REQUEST = "permission_request"
    GATEWAY_START = "gateway_start"
    GATEWAY_STOP = "gateway_stop"
    SETUP = "setup"


# Claude Code's event names -> canonical. The first alias of an event is the name Claude
# command hooks receive as `hook_event_name`.
CLAUDE_ALIASES: dict[str, str] = {
    "PreToolUse": "before_tool_call",
    "PostToolUse": "after_tool_call",
    "PostToolUseFailure": "tool_call_failed",
    "UserPromptSubmit": "message_received",
    "SessionStart": "session_start",
    "SessionEnd": "session_end",
    "PreCompact": "before_compaction",
    "PostCompact": "after_compaction",
    "Stop": "agent_end",
    "SubagentStart": "subagent_start",
    "SubagentStop": "subagent_end",
    "Notification": "notification",
    "PermissionRequest": "permission_request",
    "Setup": "setup",
}

CANONICAL_EVENTS: frozenset[str] = frozenset(e.value for e in HookEvent)


@cache
def _claude_names() -> dict[str, str]:
    out: dict[str, str] = {}
    for alias, canonical in CLAUDE_ALIASES.items():
        out.setdefault(canonical, alias)
    return out


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).replace("-", "_").lower()


@cache
def canonical_event(name: str) -> str | None:
    """`PreToolUse` -> `before_tool_call`; a canonical name -> itself; unknown -> None.

    Also tolerates other spellings of a canonical name (`SessionEnd`, `session-end`).
    """
    if name in CANONICAL_EVENTS:
        return name
    if name in CLAUDE_ALIASES:
        return CLAUDE_ALIASES[name]
    lowered = {k.lower(): v for k, v in CLAUDE_ALIASES.items()}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    snake = _snake(name)
    return snake if snake in CANONICAL_EVENTS else None


def claude_event_name(event: str) -> str:
    """The name a Claude command hook expects in `hook_event_name` (canonical name if none)."""
    return _claude_names().get(event, event)
