"""Keep Extism's timer thread from slowing down the calls it times.

Extism enforces `timeout_ms` with one process-wide timer thread that busy-waits (checks the clock
in a loop, never sleeping) for as long as any call is running. When the scheduler puts that thread
on the same CPU as the thread making the call, the two share the core and a 10 µs call takes
about 30 µs; on a 2-core machine that happens in roughly half the runs, so the cost of a call
swings from run to run (measured with tests/benchmarks/bench_wasm.py). Giving the timer thread the
lowest priority (nice 19) lets the call have the core, while the timer still runs often enough to
stop a call at its deadline within a few milliseconds — and a long call no longer costs the app a
second busy core at normal priority.

Extism starts the timer thread when the process makes its first plugin, so `calm_extism_timer`
makes a throwaway plugin of an empty module and lowers the priority of the one thread that
appeared. It runs once, when this package first loads a WASM plugin's runtime module; on systems
without /proc it does nothing.
"""

from __future__ import annotations

import logging
import os
import threading

import extism
from extism.extism import CompiledPlugin

log = logging.getLogger(__name__)

TIMER_NICE = 19
_TASKS = "/proc/self/task"
_lock = threading.Lock()
_done = False
timer_threads: list[int] = []  # the thread ids given the low priority (for status and tests)


def _native_threads() -> set[int]:
    python = {t.native_id for t in threading.enumerate() if t.native_id is not None}
    return {int(tid) for tid in os.listdir(_TASKS)} - python


def calm_extism_timer() -> None:
    """Lower the priority of Extism's timer thread (once per process)."""
    global _done
    with _lock:
        if _done:
            return
        _done = True
        if not os.path.isdir(_TASKS):
            return
        try:
            # compiling may start a helper thread of wasmtime's; the timer starts with the plugin
            compiled = CompiledPlugin({"wasm": [{"data": b"(module)"}]}, wasi=False)
            before = _native_threads()
            extism.Plugin(compiled)
        except extism.Error as exc:  # Extism still works; only this tuning is skipped
            log.warning("could not start Extism's timer early: %s", exc)
            return
        for tid in sorted(_native_threads() - before):
            try:
                os.setpriority(os.PRIO_PROCESS, tid, TIMER_NICE)
            except OSError as exc:
                log.warning("could not lower the priority of Extism's timer thread: %s", exc)
                continue
            timer_threads.append(tid)
