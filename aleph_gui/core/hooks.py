"""The hook executor: runs every plugin listening to an event, in order.

The event vocabulary (names, Claude aliases, matchers) lives in `hook_events`. The executor is on
the hot path of every event, so built-in Python handlers are called inline and tracing is an
append to a bounded ring.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from time import perf_counter_ns
from typing import Any

from aleph_gui.core.errors import PLUGIN_TEXT_CAP, AlephError
from aleph_gui.core.hook_chain import (
    EMPTY,
    NO_CHAIN,
    NO_KEYS,
    Chain,
    FireResult,
    HookHandler,
    TraceRow,
    failure_text,
    modified_keys,
    observed_decision,
    prepare_chain,
)
from aleph_gui.core.hook_events import canonical_event, event_subject, matcher_problem
from aleph_gui.core.hook_result import Block, Continue, Intercept
from aleph_gui.core.runtime.offload import offloader
from aleph_gui.core.trace import TraceRecord

__all__ = ["FireResult", "HookExecutor", "HookHandler", "TraceRecord", "TraceRow"]
RING_SIZE = 2000

log = logging.getLogger(__name__)

class HookExecutor:
    """Runs the handlers of an event: interceptors in order, then observers together.

    Handler lists are immutable tuples replaced on every add/undo, so `fire` works on the
    snapshot it started with (a reload mid-event does not change that event's chain).
    """

    def __init__(self, trace_sink: Callable[[list[TraceRow]], None] | None = None,
                 ring_size: int = RING_SIZE) -> None:
        self._handlers: dict[str, tuple[HookHandler, ...]] = {}
        self._chains: dict[str, Chain] = {}
        self._ring: deque[TraceRow] = deque(maxlen=ring_size)
        self._subscribers: tuple[Callable[[TraceRecord], None], ...] = ()
        self._trace_sink = trace_sink

    # -- registration ----------------------------------------------------------------------------
    def _set(self, event: str, handlers: tuple[HookHandler, ...]) -> None:
        if handlers:
            self._handlers[event] = handlers
            self._chains[event] = prepare_chain(handlers)
        else:
            self._handlers.pop(event, None)
            self._chains.pop(event, None)

    def add(self, handler: HookHandler) -> Callable[[], None]:
        """Register a handler (lower priority runs first; ties by plugin id). Returns its undo."""
        problem = matcher_problem(handler.matcher)
        if problem:
            log.warning("%s: %s", handler.plugin_id, problem)
        chain = list(self._handlers.get(handler.event, EMPTY)) + [handler]
        chain.sort(key=lambda h: (h.priority, h.plugin_id))  # stable: one plugin keeps its order
        self._set(handler.event, tuple(chain))

        def undo() -> None:
            current = self._handlers.get(handler.event, EMPTY)
            self._set(handler.event, tuple(h for h in current if h is not handler))

        return undo

    def remove_plugin(self, plugin_id: str) -> None:
        for event, chain in list(self._handlers.items()):
            self._set(event, tuple(h for h in chain if h.plugin_id != plugin_id))

    def handlers(self, event: str | None = None) -> list[HookHandler]:
        events = [canonical_event(event) or event] if event else sorted(self._handlers)
        return [h for e in events for h in self._handlers.get(e, EMPTY)]

    def subscribe(self, callback: Callable[[TraceRecord], None]) -> Callable[[], None]:
        """`callback(record)` for every handler call, after each event (never during the chain)."""
        self._subscribers = self._subscribers + (callback,)

        def undo() -> None:
            self._subscribers = tuple(c for c in self._subscribers if c is not callback)

        return undo

    def listens(self, event: str) -> bool:
        """Does any handler listen to this canonical event (cheap: one dict lookup)?"""
        return event in self._chains

    def record(self, row: TraceRow) -> None:
        """Trace something that is not a handler call (a tool's own run) like one."""
        self.publish(FireResult("continue", {}, rows=[row]))

    def record_run(self, started: float, kind: str, plugin_id: str, name: str, took_ns: int,
                   error: BaseException | None, client: str) -> None:
        """Trace a plugin's own run (a tool, a provider, a command): its time, and its error text capped."""
        text = error.message[:PLUGIN_TEXT_CAP] if isinstance(error, AlephError) else ""
        self.record((started, kind, plugin_id, name, "continue", took_ns, text, NO_KEYS, client))

    async def traced_run(self, kind: str, plugin_id: str, name: str, client: str, work: Awaitable[Any]) -> tuple[Any, int]:
        """Await `work` (the plugin's own run) and trace it, failed or not; returns (its answer, its time in ns)."""
        started, t0 = time.time(), perf_counter_ns()
        try:
            answer = await work
        except AlephError as exc:
            self.record_run(started, kind, plugin_id, name, perf_counter_ns() - t0, exc, client)
            raise
        took = perf_counter_ns() - t0
        self.record_run(started, kind, plugin_id, name, took, None, client)
        return answer, took

    def recent(self, n: int = 100) -> list[TraceRecord]:
        return [TraceRecord.of(r) for r in list(self._ring)[-n:]] if n > 0 else []

    # -- firing ------------------------------------------------------------------------------------
    async def fire(self, event: str, data: dict[str, Any] | None = None, client: str = "") -> FireResult:
        """Run the event through its chain. Never raises for a handler's failure.
        `client` names who asked (it is kept in every trace record)."""
        chain = self._chains.get(event)
        name = event
        if chain is None:
            name = canonical_event(event) or event
            chain = self._chains.get(name, NO_CHAIN)
        current: dict[str, Any] = data if data is not None else {}
        records: list[TraceRow] = []
        now = time.time()
        subject = event_subject(current) if chain.needs_subject else None
        decision, reason = "continue", ""
        fast = chain.fast
        if fast is not None:
            # Hot path, inlined on purpose (it is what the benchmark measures): built-in Python
            # handlers are called directly, with one clock read and one tuple appended each.
            append = records.append
            t_prev = perf_counter_ns()
            for match, func, plugin_id, handler_name, h in fast:
                if match is not None and not match(subject):
                    continue
                try:
                    result = func(current)
                except Exception as exc:  # a built-in handler's bug must not stop the event
                    t = perf_counter_ns()
                    current, decision, reason, stop = self._apply(
                        h, None, failure_text(exc, h), t - t_prev, name, current, now, records, client, decision, reason)
                    if stop:
                        break
                    t_prev = t
                    continue
                t = perf_counter_ns()
                if result is None or result.__class__ is Continue:
                    append((now, name, plugin_id, handler_name, "continue", t - t_prev, "", NO_KEYS, client))
                    t_prev = t
                    continue
                current, decision, reason, stop = self._apply(h, result, "", t - t_prev, name, current, now,
                                                              records, client, decision, reason)
                if stop:
                    break
                t_prev = perf_counter_ns()
        elif chain.interceptors:
            current, decision, reason = await self._run_chain(chain.interceptors, name, current, subject, now,
                                                              records, client)
        if chain.observers:
            await self._run_observers(chain.observers, name, current, subject, now, records, client)
        result = FireResult(decision, current, reason, rows=records)
        self.publish(result)
        return result

    async def _run_chain(self, chain: tuple[HookHandler, ...], name: str, current: dict[str, Any],
                         subject: str | None, now: float, records: list[TraceRow],
                         client: str) -> tuple[dict[str, Any], str, str]:
        """The general chain: built-in, WASM (batched in one worker hop) and async runtimes mixed."""
        decision, reason = "continue", ""
        i, n = 0, len(chain)
        while i < n:
            h = chain[i]
            i += 1
            if h._match is not None and not h._match(subject):
                continue
            if h.skip_reason:
                records.append((now, name, h.plugin_id, h.handler, "skipped", 0, h.skip_reason, NO_KEYS, client))
                continue
            runtime = h.runtime
            if h.func is not None:
                t0 = perf_counter_ns()
                try:
                    result, err = h.func(current), ""
                except Exception as exc:
                    result, err = None, failure_text(exc, h)
                dt = (perf_counter_ns() - t0)
            elif runtime is not None and runtime.supports_blocking_hooks:
                # A run of consecutive blocking-capable handlers (WASM) goes to one worker thread.
                batch = [h]
                while i < n and chain[i].func is None and chain[i].runtime is not None \
                        and chain[i].runtime.supports_blocking_hooks and not chain[i].skip_reason:  # type: ignore[union-attr]
                    batch.append(chain[i])
                    i += 1
                stop, current, decision, reason = await self._run_blocking_batch(
                    batch, name, current, subject, now, records, client, decision, reason)
                if stop:
                    break
                continue
            elif runtime is not None:
                t0 = perf_counter_ns()
                try:
                    result = await asyncio.wait_for(
                        runtime.run_hook(h.handler, {"event": name, "data": current}, h.timeout_ms),
                        h.timeout_ms / 1000 + 0.5)  # the runtime enforces the limit; this is a backstop
                    err = ""
                except Exception as exc:
                    result, err = None, failure_text(exc, h)
                dt = (perf_counter_ns() - t0)
            else:
                result, err, dt = None, "handler has neither a function nor a runtime", 0
            current, decision, reason, stop = self._apply(h, result, err, dt, name, current, now, records,
                                                          client, decision, reason)
            if stop:
                break
        return current, decision, reason

    @staticmethod
    def _apply(h: HookHandler, result: Any, err: str, dt: int, name: str, current: dict[str, Any],
               now: float, records: list[TraceRow], client: str, decision: str,
               reason: str) -> tuple[dict[str, Any], str, str, bool]:
        """Record one interceptor's answer; returns (data, decision, reason, stop)."""
        if err:
            if h.fail_closed:
                records.append((now, name, h.plugin_id, h.handler, "block", dt, err, NO_KEYS, client))
                return current, "block", f"{h.plugin_id}: {err}", True
            records.append((now, name, h.plugin_id, h.handler, "continue", dt, err, NO_KEYS, client))
            return current, decision, reason, False
        if result is None or type(result) is Continue:
            records.append((now, name, h.plugin_id, h.handler, "continue", dt, "", NO_KEYS, client))
            return current, decision, reason, False
        if type(result) is Intercept:
            keys = modified_keys(current, result.data)
            records.append((now, name, h.plugin_id, h.handler, "intercept", dt, "", keys, client))
            return dict(result.data), "intercept", reason, False
        if type(result) is Block:
            records.append((now, name, h.plugin_id, h.handler, "block", dt, "", NO_KEYS, client))
            return current, "block", result.reason or f"blocked by {h.plugin_id}", True
        err = f"answered {type(result).__name__}, not Continue, Intercept or Block"
        return HookExecutor._apply(h, None, err, dt, name, current, now, records, client, decision, reason)

    async def _run_blocking_batch(self, batch: list[HookHandler], name: str, current: dict[str, Any],
                                  subject: str | None, now: float,
                                  records: list[TraceRow], client: str, decision: str,
                                  reason: str) -> tuple[bool, dict[str, Any], str, str]:
        """Run handlers whose runtime can block, in order, in ONE executor hop."""
        return await offloader().run(self._chain_here, batch, name, current, subject, now, records, client,
                                     decision, reason)

    def _chain_here(self, handlers: Sequence[HookHandler], name: str, current: dict[str, Any],
                    subject: str | None, now: float, records: list[TraceRow], client: str, decision: str,
                    reason: str) -> tuple[bool, dict[str, Any], str, str]:
        """Interceptors on this (worker) thread: built-in functions and blocking-capable runtimes."""
        data, dec, why = current, decision, reason
        for h in handlers:
            if h._match is not None and not h._match(subject):
                continue
            if h.skip_reason:
                records.append((now, name, h.plugin_id, h.handler, "skipped", 0, h.skip_reason, NO_KEYS, client))
                continue
            t0 = perf_counter_ns()
            try:
                if h.func is not None:
                    result = h.func(data)
                else:
                    result = h.runtime.run_hook_blocking(  # type: ignore[union-attr]
                        h.handler, {"event": name, "data": data}, h.timeout_ms)
                err = ""
            except Exception as exc:  # trap, timeout, bad output: one clear sentence in the trace
                result, err = None, failure_text(exc, h)
            dt = (perf_counter_ns() - t0)
            data, dec, why, stop = self._apply(h, result, err, dt, name, data, now, records, client, dec, why)
            if stop:
                return True, data, dec, why
        return False, data, dec, why

    # -- the whole chain on a worker thread (it shares the hop of the tool call it surrounds) -----------
    def runs_blocking(self, event: str) -> bool:
        """Can this event's whole chain run on one worker thread (built-in and WASM handlers only)?"""
        return self._chains.get(event, NO_CHAIN).blocking

    def fire_blocking(self, event: str, data: dict[str, Any], client: str = "") -> FireResult:
        """Run a `runs_blocking` chain on the calling worker thread. Not published: the caller hands
        the result to `publish` back on the loop thread (subscribers live there)."""
        chain = self._chains.get(event, NO_CHAIN)
        records: list[TraceRow] = []
        now = time.time()
        subject = event_subject(data) if chain.needs_subject else None
        _, current, decision, reason = self._chain_here(chain.interceptors, event, data, subject, now, records,
                                                        client, "continue", "")
        for h in chain.observers:  # they see the final data; what they answer changes nothing
            if h._match is not None and not h._match(subject):
                continue
            if h.skip_reason:
                records.append((now, event, h.plugin_id, h.handler, "skipped", 0, h.skip_reason, NO_KEYS, client))
                continue
            _observe_here(h, event, current, now, records, client)
        return FireResult(decision, current, reason, rows=records)

    def publish(self, result: FireResult) -> None:
        """Hand a `fire_blocking` result's trace to the ring, subscribers and the audit sink (on the loop
        thread, so the trace keeps the order things happened in)."""
        self._ring.extend(result.rows)
        if self._subscribers or self._trace_sink is not None:
            self._publish(result)

    async def _run_observers(self, observers: tuple[HookHandler, ...], name: str, data: dict[str, Any],
                             subject: str | None, now: float, records: list[TraceRow], client: str) -> None:
        """Observers see the final data together; whatever they answer does not change the outcome."""
        pending = []
        for h in observers:
            if h._match is not None and not h._match(subject):
                continue
            if h.skip_reason:
                records.append((now, name, h.plugin_id, h.handler, "skipped", 0, h.skip_reason, NO_KEYS, client))
            elif h.func is not None:
                _observe_here(h, name, data, now, records, client)
            elif h.runtime is not None:
                pending.append(h)
        if pending:
            outcomes = await asyncio.gather(*(self._observe(h, name, data, client) for h in pending))
            records.extend(outcomes)

    async def _observe(self, h: HookHandler, name: str, data: dict[str, Any], client: str) -> TraceRow:
        t0 = perf_counter_ns()
        payload = {"event": name, "data": dict(data)}
        runtime = h.runtime
        assert runtime is not None  # observers without a runtime ran inline
        call: Awaitable[Any]
        try:
            if runtime.supports_blocking_hooks:
                call = offloader().run(runtime.run_hook_blocking, h.handler, payload, h.timeout_ms)
            else:
                call = runtime.run_hook(h.handler, payload, h.timeout_ms)
            result, err = await asyncio.wait_for(call, h.timeout_ms / 1000 + 0.5), ""
        except Exception as exc:
            result, err = None, failure_text(exc, h)
        return (time.time(), name, h.plugin_id, h.handler, observed_decision(result, err),
                (perf_counter_ns() - t0), err, NO_KEYS, client)

    def _publish(self, result: FireResult) -> None:
        """Subscribers and the sink must never break an event: their errors are logged."""
        if self._subscribers:
            for rec in result.trace:
                for cb in self._subscribers:
                    try:
                        cb(rec)
                    except Exception:
                        log.exception("hook trace subscriber failed")
        if self._trace_sink is not None:
            try:
                self._trace_sink(result.rows)
            except Exception:
                log.exception("hook trace sink failed")


def _observe_here(h: HookHandler, name: str, data: dict[str, Any], now: float, records: list[TraceRow],
                  client: str) -> None:
    """Run one observer on this thread (its function, or its runtime's blocking call) and trace its answer."""
    t0 = perf_counter_ns()
    try:
        result = h.func(dict(data)) if h.func is not None else h.runtime.run_hook_blocking(  # type: ignore[union-attr]
            h.handler, {"event": name, "data": dict(data)}, h.timeout_ms)
        err = ""
    except Exception as exc:
        result, err = None, failure_text(exc, h)
    records.append((now, name, h.plugin_id, h.handler, observed_decision(result, err), perf_counter_ns() - t0,
                    err, NO_KEYS, client))
