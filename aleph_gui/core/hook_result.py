"""`HookResult`: exactly one of Continue, Intercept(modified) or Block(reason)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aleph_gui.core.errors import cap_text


@dataclass(frozen=True)
class Continue:
    decision = "continue"


@dataclass(frozen=True)
class Intercept:
    data: dict[str, Any]
    decision = "intercept"


@dataclass(frozen=True)
class Block:
    reason: str
    decision = "block"


HookResult = Continue | Intercept | Block


class BadHookAnswer(ValueError):
    """A handler answered something that is not a hook decision."""


def result_from_json(answer: Any) -> HookResult:
    """Parse the ABI answer `{"action": "continue"|"intercept"|"block", ...}`; None/empty = continue."""
    if answer in (None, "", {}):
        return Continue()
    if not isinstance(answer, dict):
        raise BadHookAnswer(f"expected a JSON object with 'action', got {type(answer).__name__}")
    action = answer.get("action")
    if action == "continue":
        return Continue()
    if action == "intercept":
        data = answer.get("data")
        if not isinstance(data, dict):
            raise BadHookAnswer("'intercept' needs a 'data' object with the modified event")
        return Intercept(data)
    if action == "block":
        return Block(cap_text(str(answer.get("reason") or "blocked by plugin")))
    raise BadHookAnswer(f"unknown action {action!r}; expected continue, intercept or block")
