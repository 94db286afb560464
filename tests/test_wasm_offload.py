"""The worker threads that run WASM calls off the event loop: one warm thread for calls made one after
another, more threads only when calls overlap, and calls beyond the limit wait their turn."""

from __future__ import annotations

import asyncio
import threading

from aleph_gui.core.runtime.offload import Offloader


def _thread_name() -> str:
    return threading.current_thread().name


async def test_calls_made_one_after_another_stay_on_one_thread() -> None:
    pool = Offloader(4)
    names = [await pool.run(_thread_name) for _ in range(50)]
    assert set(names) == {"plugin-call-1"}
    assert threading.current_thread().name not in names  # never on the event loop's thread


async def test_overlapping_calls_run_at_once_and_extra_ones_wait_their_turn() -> None:
    pool = Offloader(2)
    release = threading.Event()
    running: list[str] = []

    def blocked(tag: str) -> str:
        running.append(tag)
        release.wait(30)
        return tag

    first, second = pool.run(blocked, "a"), pool.run(blocked, "b")
    third = pool.run(blocked, "c")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(running) < 2 and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert sorted(running) == ["a", "b"]  # both at once, on two threads
    assert not third.done() and "c" not in running  # the third waits for a free thread
    release.set()
    assert await asyncio.gather(first, second, third) == ["a", "b", "c"]


async def test_an_error_reaches_the_caller_and_the_thread_keeps_working() -> None:
    pool = Offloader(1)

    def fail() -> None:
        raise ValueError("plugin said no")

    try:
        await pool.run(fail)
    except ValueError as exc:
        assert str(exc) == "plugin said no"
    else:
        raise AssertionError("the error was lost")
    assert await pool.run(_thread_name) == "plugin-call-1"


def _nice(tid: int) -> int:
    fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat(5); the list starts at field 3


def test_extisms_timer_thread_gives_the_cpu_to_the_calls_it_times() -> None:
    from aleph_gui.core.runtime import wasm_timer
    from aleph_gui.core.runtime.wasm import WasmRuntime  # noqa: F401 - loading the runtime calms the timer

    assert len(wasm_timer.timer_threads) == 1
    tid = wasm_timer.timer_threads[0]
    assert tid not in {t.native_id for t in threading.enumerate()}  # Extism's own thread, not Python's
    assert _nice(tid) == wasm_timer.TIMER_NICE
