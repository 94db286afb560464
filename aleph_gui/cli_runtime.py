"""`aleph-ext` commands run in this process, when no host runs (or for `watch` and `init`).

Every command that is an operation runs the host's own operation (`host/operations.py`) against a manager
built here, and prints through `cli_output` — exactly what a running host would have answered. What the
manager is depends on the operation: a headless one that runs no plugin code (inventory), or a started one
that loads plugins and stops them when the command ends (a service started here stops with it).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from aleph_gui import cli_output
from aleph_gui.cli_output import Failure, present, present_failure, request_for, say
from aleph_gui.core.errors import AlephError
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.host.operations import OPERATIONS

CLIENT = "cli"


def _locations(args: argparse.Namespace) -> Locations:
    return Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)


async def run_operation(args: argparse.Namespace, method: str, params: dict[str, Any],
                        client: str = CLIENT) -> Any:
    """Run one operation of the host's table in-process (for `client`); raises Failure for its errors."""
    op = OPERATIONS[method]
    manager = ExtensionManager(_locations(args), safe_mode=args.safe_mode, load=op.uses == "plugins")
    try:
        if op.uses == "plugins":
            await manager.start()
        elif op.uses == "inventory":
            await manager.rescan()
        return await op.handler(manager, params, client)
    except AlephError as exc:
        raise Failure(str(exc), type(exc).__name__) from None
    finally:
        if op.uses == "plugins":
            await manager.stop()
        else:
            manager.state.close()


def run_command(args: argparse.Namespace) -> int:
    """A command that is an operation, run in-process: its output and exit code."""
    try:
        method, params = request_for(args)
        result = asyncio.run(run_operation(args, method, params))
    except Failure as failure:
        return present_failure(args, failure)
    return present(args, result)


async def watch(args: argparse.Namespace) -> int:
    """`watch` with no host: a manager with hot reload in this process."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ready = False

    def show(event: Any) -> None:
        # The contract: the first line is Ready; the initial inventory is what `list` shows.
        nonlocal ready
        ready = ready or event.type == "Ready"
        if ready:
            cli_output.watch_line(args, event.to_json())

    manager = ExtensionManager(_locations(args), safe_mode=args.safe_mode, watch=True)
    manager.subscribe(show)
    await manager.start()
    try:
        await stop.wait()
    finally:
        await manager.stop()
    return 0


def init(args: argparse.Namespace) -> int:
    from aleph_gui.core.scaffold import create_plugin

    folder = create_plugin(args.name, kind=args.kind, parent=args.dir)
    say(f"created {folder} — check it with: aleph-ext validate {folder}")
    if args.kind == "static":
        say(f"then: aleph-ext install {folder}")
    else:  # its code runs only once approved
        say(f"then: aleph-ext install {folder} && aleph-ext grant {folder.name}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Commands that load plugins or run the live manager, in this process."""
    try:
        if args.command == "watch":
            return asyncio.run(watch(args))
        if args.command == "init":
            return init(args)
        return run_command(args)
    except AlephError as exc:
        return present_failure(args, Failure(str(exc), type(exc).__name__))
    except KeyboardInterrupt:
        return 130
