"""Claude Code hook payloads, shaped as the hooks reference shows them (code.claude.com/docs/en/hooks,
Claude Code 2.1.288): the JSON Claude writes to a command hook's stdin for each event Aleph handles."""

from __future__ import annotations

import copy
from typing import Any

_COMMON = {"session_id": "abc123", "transcript_path": "/home/user/.claude/projects/p/00893aaf.jsonl",
           "cwd": "/home/user/my-project"}

PAYLOADS: dict[str, dict[str, Any]] = {
    "PreToolUse": {**_COMMON, "prompt_id": "550e8400-e29b-41d4-a716-446655440000", "permission_mode": "default",
                   "hook_event_name": "PreToolUse", "tool_name": "Bash",
                   "tool_input": {"command": "npm test", "description": "Run test suite", "timeout": 120000,
                                  "run_in_background": False},
                   "tool_use_id": "toolu_01ABC123"},
    "PostToolUse": {**_COMMON, "permission_mode": "default", "hook_event_name": "PostToolUse", "tool_name": "Write",
                    "tool_input": {"file_path": "/path/to/file.txt", "content": "file content"},
                    "tool_response": {"filePath": "/path/to/file.txt", "type": "create"},
                    "tool_use_id": "toolu_01ABC123", "duration_ms": 12},
    "PostToolUseFailure": {**_COMMON, "permission_mode": "default", "hook_event_name": "PostToolUseFailure",
                           "tool_name": "Bash", "tool_input": {"command": "npm test", "description": "Run tests"},
                           "tool_use_id": "toolu_01ABC123",
                           "error": "Exit code 1\nError: Cannot find module 'express'", "is_interrupt": False,
                           "duration_ms": 4187},
    "UserPromptSubmit": {**_COMMON, "permission_mode": "default", "hook_event_name": "UserPromptSubmit",
                         "prompt": "Write a function to calculate the factorial of a number"},
    "SessionStart": {**_COMMON, "hook_event_name": "SessionStart", "source": "startup", "model": "claude-opus-5"},
    "SessionEnd": {**_COMMON, "hook_event_name": "SessionEnd", "reason": "other"},
    "PreCompact": {**_COMMON, "hook_event_name": "PreCompact", "trigger": "manual", "custom_instructions": None},
    "PostCompact": {**_COMMON, "hook_event_name": "PostCompact", "trigger": "manual",
                    "compact_summary": "Summary of the compacted conversation..."},
    "Stop": {**_COMMON, "permission_mode": "default", "hook_event_name": "Stop", "stop_hook_active": False,
             "last_assistant_message": "I've completed the refactoring.", "background_tasks": [],
             "session_crons": []},
    "SubagentStart": {**_COMMON, "hook_event_name": "SubagentStart", "agent_id": "agent-abc123",
                      "agent_type": "Explore"},
    "SubagentStop": {**_COMMON, "permission_mode": "default", "hook_event_name": "SubagentStop",
                     "stop_hook_active": False, "agent_id": "def456", "agent_type": "Explore",
                     "agent_transcript_path": "/home/user/.claude/projects/p/abc123/subagents/agent-def456.jsonl",
                     "last_assistant_message": "Analysis complete.", "background_tasks": [], "session_crons": []},
    "Notification": {**_COMMON, "hook_event_name": "Notification", "message": "Claude needs your permission",
                     "title": "Permission needed", "notification_type": "permission_prompt"},
    "PermissionRequest": {**_COMMON, "permission_mode": "default", "hook_event_name": "PermissionRequest",
                          "tool_name": "Bash",
                          "tool_input": {"command": "rm -rf node_modules", "description": "Remove node_modules"},
                          "permission_suggestions": [{"type": "addRules",
                                                      "rules": [{"toolName": "Bash",
                                                                 "ruleContent": "rm -rf node_modules"}],
                                                      "behavior": "allow", "destination": "localSettings"}]},
    "Setup": {**_COMMON, "hook_event_name": "Setup", "trigger": "init"},
}


def payload(event: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the documented payload of `event`, with `changes` applied."""
    return {**copy.deepcopy(PAYLOADS[event]), **changes}
