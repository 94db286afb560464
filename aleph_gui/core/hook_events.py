"""The hook event vocabulary: event names, their Claude Code aliases and tool-name matchers.

Canonical names are snake_case (Aleph's); Claude Code's PascalCase names (`PreToolUse`, ...) are
aliases. A leaf module (standard library only): manifest parsing, the UI's Try it and the runtimes
need the words without the executor that runs hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from typing import Any


class HookEvent(StrEnum):
    """Every event a plugin can listen to (canonical names)."""

    # Aleph's design document (its `tool_invoked` is an alias of before_tool_call: ALEPH_ALIASES)
    MESSAGE_RECEIVED = "message_received"
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

# Other Aleph spellings of the same events.
ALEPH_ALIASES: dict[str, str] = {"tool_invoked": "before_tool_call"}

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
    if _snake(name) in ALEPH_ALIASES:
        return ALEPH_ALIASES[_snake(name)]
    lowered = {k.lower(): v for k, v in CLAUDE_ALIASES.items()}
    if name.strip().lower() in lowered:
        return lowered[name.strip().lower()]
    snake = _snake(name)
    return snake if snake in CANONICAL_EVENTS else None


def normalize_event(name: str) -> str:
    """The canonical name when the event is known, else the name as written (it listens in vain)."""
    return canonical_event(name) or name


def claude_event_name(event: str) -> str:
    """The name a Claude command hook expects in `hook_event_name` (canonical name if none)."""
    return _claude_names().get(event, event)


# -- matchers -----------------------------------------------------------------------------------

_PLAIN_NAMES = re.compile(r"^[A-Za-z0-9_\-]+(\|[A-Za-z0-9_\-]+)*$")
# Where the matcher looks: the tool name, or for session/compaction/notification events the
# field Claude Code matches on there (`source`, `trigger`, `notification_type`).
SUBJECT_KEYS = ("tool_name", "tool", "name", "source", "trigger", "notification_type")
Matcher = Callable[[str | None], bool]


def matcher_problem(matcher: str) -> str | None:
    """Why a matcher can never match (an invalid regex), or None."""
    if matcher in ("", "*") or _PLAIN_NAMES.match(matcher):
        return None
    try:
        re.compile(matcher)
    except re.error as exc:
        return f"matcher {matcher!r} is not a valid regular expression ({exc}); this hook never runs"
    return None


@cache
def compile_matcher(matcher: str) -> Matcher | None:
    """None = matches everything. `A|B` of plain names = exact names; else a full-match regex."""
    if matcher in ("", "*"):
        return None
    if _PLAIN_NAMES.match(matcher):
        names = frozenset(matcher.split("|"))
        return lambda subject: subject in names
    try:
        pattern = re.compile(matcher)
    except re.error:
        return lambda subject: False
    return lambda subject: subject is not None and pattern.fullmatch(subject) is not None


def event_subject(data: dict[str, Any]) -> str | None:
    """What a matcher is tested against: the first of `SUBJECT_KEYS` the event data holds as text."""
    for key in SUBJECT_KEYS:
        value = data.get(key)
        if isinstance(value, str):
            return value
    return None
