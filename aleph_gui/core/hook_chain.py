"""The pieces of a hook chain: a handler, the prepared chain of one event, and the outcome of an event.

`hooks.HookExecutor` runs chains; this module holds what it runs them with.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from aleph_gui.core.errors import AlephError, HookTimeout
from aleph_gui.core.hook_events import compile_matcher
from aleph_gui.core.hook_result import HookResult
from aleph_gui.core.manifest.model import DEFAULT_HOOK_TIMEOUT_MS
from aleph_gui.core.trace import TraceRecord

if TYPE_CHECKING:
    from collections.abc import Callable

    from aleph_gui.core.runtime.base import PluginRuntime


@dataclass
class HookHandler:
    """One listener on one event. `func` = built-in Python handler; else `runtime` runs `handler`."""

    plugin_id: str
    event: str  # canonical
    handler: str
    priority: int = 0
    kind: str = "interceptor"  # or "observer"
    matcher: str = ""
    fail_closed: bool = False
    timeout_ms: int = DEFAULT_HOOK_TIMEOUT_MS
    runtime: PluginRuntime | None = None
    func: Callable[[dict[str, Any]], HookResult | None] | None = None
    # set for hooks that are listed but never run (Claude `prompt`/`agent` hooks)
    skip_reason: str = ""

    def __post_init__(self) -> None:
        self._match = compile_matcher(self.matcher)


# The hot path appends plain tuples laid out like a TraceRecord (see trace.py).
TraceRow = tuple


class FireResult:
    """The outcome of one event: the final decision and data, and one trace record per handler.

    The executor keeps the records as plain tuples (`rows`); `trace` builds the typed records
    only when someone reads them, so tracing costs one tuple per handler call.
    """

    __slots__ = ("decision", "data", "reason", "rows", "_trace")

    def __init__(self, decision: str, data: dict[str, Any], reason: str = "",
                 rows: list[TraceRow] | None = None) -> None:
        self.decision = decision  # continue | intercept | block
        self.data = data
        self.reason = reason
        self.rows: list[TraceRow] = rows if rows is not None else []
        self._trace: list[TraceRecord] | None = None

    @property
    def trace(self) -> list[TraceRecord]:
        if self._trace is None:
            self._trace = [TraceRecord.of(r) for r in self.rows]
        return self._trace

    def to_json(self) -> dict[str, Any]:
        return {"decision": self.decision, "data": self.data, "reason": self.reason,
                "trace": [r.to_json() for r in self.trace]}

    def __repr__(self) -> str:
        return f"FireResult(decision={self.decision!r}, reason={self.reason!r}, calls={len(self.rows)})"


NO_KEYS: tuple[str, ...] = ()
_MISSING = object()


def modified_keys(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    changed = [k for k, v in new.items() if old.get(k, _MISSING) != v]
    changed += [k for k in old if k not in new]
    return tuple(changed)


def failure_text(exc: BaseException, h: HookHandler) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, HookTimeout)):
        return f"timed out after {h.timeout_ms} ms"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, AlephError) else f"{type(exc).__name__}: {text}"


# -- the executor -----------------------------------------------------------------------------------

EMPTY: tuple[HookHandler, ...] = ()


class Chain(NamedTuple):
    """The handlers of one event, prepared once per change so `fire` does no sorting or checks."""

    interceptors: tuple[HookHandler, ...]
    observers: tuple[HookHandler, ...]
    # (matcher, func, plugin_id, handler) when every interceptor is a runnable built-in function
    fast: tuple[tuple[Any, ...], ...] | None
    needs_subject: bool
    # every handler can run on one worker thread (built-in functions, WASM): the whole chain can
    # share a thread hop with the tool call it surrounds
    blocking: bool


NO_CHAIN = Chain(EMPTY, EMPTY, (), False, True)


def prepare_chain(handlers: tuple[HookHandler, ...]) -> Chain:
    interceptors = tuple(h for h in handlers if h.kind != "observer")
    observers = tuple(h for h in handlers if h.kind == "observer")
    fast = None
    if all(h.func is not None and not h.skip_reason for h in interceptors):
        fast = tuple((h._match, h.func, h.plugin_id, h.handler, h) for h in interceptors)
    blocking = all(h.func is not None or h.skip_reason or (h.runtime is not None and h.runtime.supports_blocking_hooks)
                   for h in handlers)
    return Chain(interceptors, observers, fast, any(h._match is not None for h in handlers), blocking)


def observed_decision(result: Any, err: str) -> str:
    if err:
        return "continue"
    return getattr(result, "decision", "continue")
