"""`aleph-ext` and the running host: routing commands to it, `serve`, and `host status`.

Routing: a command that is an operation goes to the home's host when one answers on `$ALEPH_HOME/host.sock`
and sees what this command asks to look at — the same project plugins (a project counts when it has an
`.aleph` folder), builtin plugins on or off, safe mode on or off. Otherwise it runs in-process as before
(`cli_runtime`). A host that is starting or handing over is waited for. A command the host refused because it
was handing over is asked again of the next host (or run in-process when none took over).

The routed path imports the blocking client and `cli_output` only — no asyncio, no pydantic, no manager —
so a routed command starts fast. `watch` uses the async client, which follows the host across a hand-over.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aleph_gui import cli_output
from aleph_gui.cli_output import Failure, present, present_failure, request_for, say
from aleph_gui.host import rpc
from aleph_gui.host.client import HostHandedOver, HostUnavailable, SyncClient, find_host

if TYPE_CHECKING:
    import argparse

CLIENT = "cli"
ROUTED = frozenset({"list", "show", "grant", "revoke", "enable", "disable", "call", "fire", "service", "skills",
                    "install", "uninstall", "mcp", "watch", "config", "run", "trust", "untrust", "log"})


def home_of(args: argparse.Namespace) -> Path:
    home = args.home or os.environ.get("ALEPH_HOME") or Path.home() / ".aleph"
    return Path(home).expanduser().resolve()


def _project_that_counts(project: str | os.PathLike[str] | None) -> str | None:
    """A project only changes what a manager sees when it has an `.aleph` folder (plugins, skills)."""
    if not project:
        return None
    path = Path(project).expanduser().resolve()
    return str(path) if (path / ".aleph").is_dir() else None


def sees_the_same(args: argparse.Namespace, view: Any) -> bool:
    """Does the host look at what this command asks to look at?"""
    if not isinstance(view, dict):
        return False
    project = args.project if args.project else os.getcwd()
    return (_project_that_counts(view.get("project")) == _project_that_counts(project)
            and view.get("builtin") is (not args.no_builtin) and view.get("safe_mode") is bool(args.safe_mode))


def connect(args: argparse.Namespace) -> SyncClient | None:
    """A client of the home's host when one runs and sees the same plugins; None: run in-process."""
    client = find_host(home_of(args), CLIENT)
    if client is not None and not sees_the_same(args, client.host.get("view")):
        client.close()
        return None
    return client


def routed(args: argparse.Namespace) -> int | None:
    """Run a command through the running host: its exit code, or None when it must run in-process."""
    if args.command == "watch" or (args.command == "log" and args.follow):
        return routed_watch(args)
    try:
        method, params = request_for(args)
    except Failure as failure:
        return present_failure(args, failure)
    try:
        while True:
            client = connect(args)
            if client is None:
                return None
            with client:
                try:
                    result = client.call(method, params)
                except HostHandedOver:
                    continue  # never read by the old host: ask the next host (or run in-process)
                except rpc.RemoteError as exc:
                    if exc.code == rpc.HANDING_OVER:
                        continue  # refused, not run: ask the next host (or run in-process)
                    return present_failure(args, Failure(exc.message, exc.type))
            return present(args, result)
    except HostUnavailable as exc:
        return present_failure(args, Failure(str(exc), type(exc).__name__))


# -- watch ---------------------------------------------------------------------------------------------


def routed_watch(args: argparse.Namespace) -> int | None:
    import asyncio

    try:
        return asyncio.run(_watch(args))
    except _NoHost:
        return None


class _NoHost(Exception):
    pass


def _follow_line(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """A hook trace from the host's stream, as a `log` line, when it matches the filters."""
    if doc.get("type") != "HookTraced":
        return
    record = {**doc, "plugin": doc["id"]}
    if (args.plugin and record["plugin"] != args.plugin) or (args.event and args.event not in (
            record["event"], _canonical(args.event))):
        return
    cli_output.log_line(args, record)


def _canonical(event: str) -> str:
    from aleph_gui.core.hook_events import canonical_event

    return canonical_event(event) or event


async def _watch(args: argparse.Namespace) -> int:
    import asyncio
    import signal
    import time

    from aleph_gui.host.client import HostClient

    client = HostClient(home_of(args), CLIENT, reconnect=True)
    try:
        hello = await client.connect()
    except HostUnavailable:
        raise _NoHost from None
    if not sees_the_same(args, hello.get("view")):
        await client.close()
        raise _NoHost
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.command == "log":  # `log --follow`: the history first, then every call as the host runs it
        method, params = request_for(args)
        for record in await client.call(method, params):
            cli_output.log_line(args, record)
        await client.subscribe(lambda doc: _follow_line(args, doc))
    else:
        # The contract: the first line is Ready, printed once subscribed; events arriving before it wait for it.
        early: list[dict[str, Any]] = []
        ready = False

        def show(doc: dict[str, Any]) -> None:
            if ready:
                cli_output.watch_line(args, doc)
            else:
                early.append(doc)

        await client.subscribe(show)
        cli_output.watch_line(args, {"type": "Ready", "id": "", "time": time.time()})
        ready = True
        for doc in early:
            cli_output.watch_line(args, doc)
    stopped = asyncio.ensure_future(stop.wait())
    gone = asyncio.ensure_future(client.closed())
    await asyncio.wait((stopped, gone), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    await client.close()
    if stop.is_set():
        gone.cancel()
        return 0
    say(f"aleph-ext: {gone.result()} and no host took over")
    return 1


# -- serve and host status --------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    # What the core logs (a plugin process ready, restarted, killed) goes to stderr, as the window's does.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from aleph_gui.core.paths import Locations
    from aleph_gui.host.serve import serve as run_host

    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)
    return asyncio.run(run_host(locations, safe_mode=args.safe_mode, http_port=args.http))


def host_status(args: argparse.Namespace) -> int:
    home = home_of(args)
    try:
        client = find_host(home, CLIENT)
        if client is None:
            raise HostUnavailable(f"no host runs for {home} (start one with aleph-ext serve, or open aleph-gui)")
        with client:
            status = client.call("host.status", {})
    except HostUnavailable as exc:
        return cli_output.present_failure(args, cli_output.Failure(str(exc)))
    return cli_output.host_status(args, status)
