"""`aleph-ext serve [--http [PORT]]`: the headless host, in the foreground, until SIGINT/SIGTERM or a hand-over
to the window.

It takes the home's lock (or exits 1 naming who hosts), starts the manager with hot reload, opens the host
endpoint and writes host.json. With `--http` it also serves the HTTP gateway on 127.0.0.1:PORT (MCP at /mcp,
plugin routes at /plugins/<id>/...) and host.json says where; a port it cannot take stops it with exit 1. Stopping is clean in every case: no new work, calls in flight finish and are
answered, plugin processes stop, host.json and the socket are removed, the lock is released, exit 0.
A second SIGINT/SIGTERM while calls are still finishing cancels them.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable

from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.host.endpoints import HostEndpoints
from aleph_gui.host.hosting import HomeHosted, Hosting
from aleph_gui.host.info import info_path


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def serve(locations: Locations, *, safe_mode: bool = False, http_port: int | None = None,
                say: Callable[[str], None] = _say) -> int:
    """Run the headless host for `locations.home` until stopped (with the HTTP gateway on `http_port` when
    given); the exit code."""
    home = locations.home
    try:
        hosting = await Hosting.claim(home, "headless")
    except HomeHosted as exc:
        say(f"aleph-ext serve: {exc}")
        return 1
    loop = asyncio.get_running_loop()
    signalled = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, signalled.set)
    manager = ExtensionManager(locations, safe_mode=safe_mode, watch=True)
    endpoints = HostEndpoints(home, manager, hosting)
    try:
        try:
            hosting.announce()
            await manager.start()
            server = await hosting.serve(manager)
        except Exception as exc:  # the state database or the socket could not be opened: one sentence
            say(f"aleph-ext serve: the host could not start: {exc}")
            return 1
        if http_port is not None:
            from aleph_gui.gateways.http_gateway import GatewayError

            try:
                url = await endpoints.start_http(http_port)
            except GatewayError as exc:
                say(f"aleph-ext serve: no HTTP gateway: {exc}")
                return 1
            say(f"serving MCP at {url}/mcp and plugin routes at {url}/plugins/<plugin-id>/<path> "
                f"(bearer token in {info_path(home)})")
        # What start-up built lives as long as the host: out of the collector's generations, full GC passes
        # stay short under a steady stream of calls (the window does the same).
        gc.freeze()
        say(f"hosting {home} on {server.path} (pid {os.getpid()}); stop with Ctrl+C")
        await _first(signalled.wait(), hosting.stop_requested.wait())
        if hosting.successor_pid is not None:
            say(f"handing over to the {hosting.successor_kind} (pid {hosting.successor_pid}): "
                f"{server.in_flight} call(s) in flight will finish first")
        else:
            say(f"stopping: {server.in_flight} call(s) in flight will finish first")
        signalled.clear()
        await endpoints.stop_http()  # no new HTTP work; requests in flight finish first
        draining = asyncio.ensure_future(hosting.stop_serving())
        await _first(asyncio.shield(draining), signalled.wait())
        if not draining.done():  # a second signal: do not wait for slow calls any longer
            say("stopping now: cancelling the calls still in flight")
            server.cancel_in_flight()
        await draining
        return 0
    finally:
        await endpoints.stop_http()
        await hosting.stop_serving()  # (nothing left to do after a clean stop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await manager.stop()
        hosting.release()
        say("stopped")


async def _first(*waits: Awaitable[object]) -> None:
    """Wait until the first of `waits` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
