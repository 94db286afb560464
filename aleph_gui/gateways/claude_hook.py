"""`aleph-ext claude hook`: the command Claude Code runs for every hook event.

Claude Code starts it before every tool call, so it imports nothing heavy: json, sys, os and the protocol
module. The chain runner is injected (`run_chain(event, data) -> FireResult.to_json()`): the CLI relays to the
running host, or runs the chain in-process when none runs, and only that path may import the core.

Failures of the bridge itself (input that is not a hook payload, an event Aleph does not know, a chain that
raised) never print a traceback. By default they are Claude's "non-blocking error": exit 1 and one sentence on
stderr, which Claude Code shows as "<event> hook error" while the action goes on (fail open — a broken Aleph
does not stop the assistant). With `fail_closed=True` the same sentence comes with exit 2, which blocks every
event that can be blocked (tool calls, prompts, stopping, compaction) until Aleph works again.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import IO, Any

from aleph_gui.gateways.claude_protocol import ClaudeAnswer, answer_for_claude, event_from_claude

RunChain = Callable[[str, dict[str, Any]], dict[str, Any]]
MAX_INPUT = 64 * 1024 * 1024  # a hook payload carries tool input and output; this bounds a runaway writer
FAIL_CLOSED_ENV = "ALEPH_CLAUDE_HOOK_FAIL_CLOSED"


def main(stdin: IO[str], stdout: IO[str], stderr: IO[str], run_chain: RunChain, *,
         fail_closed: bool = False) -> int:
    """Read one hook payload from `stdin`, run the Aleph chain, answer in Claude's protocol; returns the exit code."""
    answer = answer_hook(stdin.read(MAX_INPUT + 1), run_chain, fail_closed=fail_closed)
    if answer.stdout:
        stdout.write(answer.stdout)
        stdout.flush()
    if answer.stderr:
        stderr.write(answer.stderr)
        stderr.flush()
    return answer.exit_code


def answer_hook(raw: str, run_chain: RunChain, *, fail_closed: bool = False) -> ClaudeAnswer:
    """The whole exchange for one payload text; never raises."""
    event_name = "hook"
    try:
        if len(raw) > MAX_INPUT:
            raise _Refused(f"the hook input is larger than {MAX_INPUT // (1024 * 1024)} MB")
        if not raw.strip():
            raise _Refused("Claude Code sent no hook input on stdin")
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise _Refused(f"the hook input is not JSON ({exc.msg} at line {exc.lineno})") from exc
        event, data = event_from_claude(payload)
        event_name = str(payload["hook_event_name"])
        try:
            result = run_chain(event, data)
        except Exception as exc:  # the process boundary: any failure becomes one sentence, not a traceback
            raise _Refused(f"Aleph could not run its {event} hooks: {_sentence(exc)}") from exc
        return answer_for_claude(event_name, payload, result)
    except Exception as exc:  # _Refused, ClaudeProtocolError, or a result that cannot be written as JSON
        text = f"aleph-ext claude hook ({event_name}): {_sentence(exc)}"
        return ClaudeAnswer(2 if fail_closed else 1, "", text + "\n")


def run(run_chain: RunChain, *, fail_closed: bool | None = None) -> int:
    """What `aleph-ext claude hook [--fail-closed]` calls: the process's own streams.

    `fail_closed=None` reads `ALEPH_CLAUDE_HOOK_FAIL_CLOSED=1` from the environment.
    """
    if fail_closed is None:
        fail_closed = os.environ.get(FAIL_CLOSED_ENV, "") == "1"
    # Claude Code speaks UTF-8 whatever the locale of the shell it starts us from.
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(encoding="utf-8", errors="replace")
    return main(sys.stdin, sys.stdout, sys.stderr, run_chain, fail_closed=fail_closed)


class _Refused(Exception):
    """A bridge failure already phrased for the user."""


def _sentence(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, (_Refused, ValueError)) or type(exc).__module__.startswith("aleph_gui"):
        return text
    return f"{type(exc).__name__}: {text}"
