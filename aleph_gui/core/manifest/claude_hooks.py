"""Claude Code's `hooks/hooks.json` (or a plugin.json's inline `hooks`): each hook becomes a capability.

`{"hooks": {Event: [{matcher, hooks: [{type, command, timeout}]}]}}`. Command hooks run a program as
the user; `prompt` and `agent` hooks are listed but not run by this app. Event names are Claude's
aliases of the canonical ones (`hook_events`).
"""

from __future__ import annotations

import math
from typing import Any

from aleph_gui.core.hook_events import canonical_event
from aleph_gui.core.manifest.model import DEFAULT_COMMAND_HOOK_TIMEOUT_MS, Capability
from aleph_gui.core.manifest.reading import decode_json
from aleph_gui.core.manifest.wording import json_kind
from aleph_gui.core.problems import Problem, error, warning

DEFAULT_TIMEOUT_S = DEFAULT_COMMAND_HOOK_TIMEOUT_MS // 1000  # hooks.json counts in seconds
MAX_HOOK_TIMEOUT_S = 3600  # a hook holds up its event; an hour is already more than anyone waits
HOOK_TYPES_NOT_RUN = ("prompt", "agent")


def _hook_capabilities(events: dict[str, Any], file: str, problems: list[Problem]) -> list[Capability]:
    caps: list[Capability] = []
    for event_name, groups in events.items():
        field = f"hooks.{event_name}"
        canonical = canonical_event(event_name)
        if canonical is None:
            problems.append(warning(file, field, f"unknown hook event '{event_name}'; its hooks are ignored"))
            continue
        if not isinstance(groups, list):
            problems.append(error(file, field, "expected a list of {matcher, hooks: [...]} groups"))
            continue
        for gi, group in enumerate(groups):
            gfield = f"{field}[{gi}]"
            if not isinstance(group, dict):
                problems.append(error(file, gfield, "expected an object {matcher, hooks: [...]}"))
                continue
            matcher = group.get("matcher", "")
            if not isinstance(matcher, str):
                problems.append(error(file, f"{gfield}.matcher", "expected a string"))
                continue
            entries = group.get("hooks")
            if not isinstance(entries, list):
                problems.append(error(file, f"{gfield}.hooks", "expected a list of hooks ({type, command, timeout})"))
                continue
            for hi, hook in enumerate(entries):
                cap = _one_hook(hook, f"{gfield}.hooks[{hi}]", file, event_name, canonical, matcher, problems)
                if cap is not None:
                    caps.append(cap)
    return caps


def _one_hook(hook: Any, field: str, file: str, event_name: str, canonical: str, matcher: str,
              problems: list[Problem]) -> Capability | None:
    if not isinstance(hook, dict):
        problems.append(error(file, field, "expected an object {type, command, timeout}"))
        return None
    hook_type = hook.get("type", "command")
    timeout = hook.get("timeout", DEFAULT_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        problems.append(warning(file, f"{field}.timeout", f"expected a positive number of seconds; "
                                                          f"using {DEFAULT_TIMEOUT_S}"))
        timeout = DEFAULT_TIMEOUT_S
    if timeout > MAX_HOOK_TIMEOUT_S:
        problems.append(warning(file, f"{field}.timeout", f"{timeout:g} s is longer than the {MAX_HOOK_TIMEOUT_S} s "
                                                          "this app allows; using that"))
        timeout = MAX_HOOK_TIMEOUT_S
    extra = {k: v for k, v in hook.items() if k not in ("type", "command", "timeout")}
    handler = f"{file}:{field.removeprefix('hooks.')}"
    if hook_type == "command":
        command = hook.get("command")
        if not isinstance(command, str) or not command.strip():
            problems.append(error(file, f"{field}.command", "a command hook needs a 'command' string"))
            return None
        details = {"hook_type": "command", "command": command, "claude_event": event_name, **extra}
        description = f"runs: {command if len(command) < 120 else command[:117] + '...'}"
    elif hook_type in HOOK_TYPES_NOT_RUN:
        details = {"hook_type": hook_type, "claude_event": event_name, "not_run": True, **extra}
        description = f"{hook_type} hook — not run by this app"
    else:
        problems.append(warning(file, f"{field}.type", f"unknown hook type {hook_type!r}; expected command, "
                                                       "prompt or agent; it is ignored"))
        return None
    return Capability(type="hook", event=canonical, matcher=matcher, handler=handler, description=description,
                      details=details, timeout_ms=int(timeout * 1000))


def parse_hooks_json(text: str, file: str) -> tuple[list[Capability], list[Problem]]:
    """`{"hooks": {Event: [{matcher, hooks: [{type, command, timeout}]}]}}` -> hook capabilities."""
    data, problems = decode_json(text, file)
    if problems:
        return [], problems
    return parse_hooks_object(data, file, problems, wrapped=True), problems


def parse_hooks_object(data: Any, file: str, problems: list[Problem], *, wrapped: bool) -> list[Capability]:
    """A parsed hooks config. `wrapped=False` (inline in plugin.json) also accepts a bare event map."""
    if not isinstance(data, dict):
        problems.append(error(file, "", f"expected an object {{\"hooks\": {{EventName: [...]}}}}, "
                                        f"found a JSON {json_kind(data)}"))
        return []
    if "hooks" not in data:
        if not wrapped and all(isinstance(k, str) for k in data):
            return _hook_capabilities(data, file, problems)
        looks_bare = any(canonical_event(k) for k in data)
        hint = ("this looks like a bare event map: wrap it as {\"hooks\": {...}}" if looks_bare
                else "expected a top-level \"hooks\" object mapping event names to hook groups")
        problems.append(error(file, "hooks", hint))
        return []
    events = data["hooks"]
    if not isinstance(events, dict):
        problems.append(error(file, "hooks", f"expected an object mapping event names to hook groups, "
                                             f"found a JSON {json_kind(events)}"))
        return []
    return _hook_capabilities(events, file, problems)
