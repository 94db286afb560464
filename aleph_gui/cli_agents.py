"""`aleph-ext mcp serve` and `aleph-ext claude hook|install|uninstall`: the commands agents run.

`claude hook` runs before every tool call Claude Code makes, so this module imports nothing at import time
beyond the standard library, and the hook path only the blocking host client: the chain runs on the running
host (waiting briefly for one that is starting or handing over); only with no host does it import the core and
run the chain in this process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

HOOK_CLIENT = "claude-code"
HANDOVER_WAIT_S = 10.0  # a host that is starting or handing over: Claude gives a hook 60 s in all
HOOK_CALL_TIMEOUT_S = 55.0  # answer with a sentence before Claude's 60 s hook timeout kills the process


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- mcp serve --------------------------------------------------------------------------------------------


def mcp_serve(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from aleph_gui import cli_host
    from aleph_gui.core.paths import Locations
    from aleph_gui.gateways.mcp_stdio import serve

    # stdout is the MCP wire: everything for people (and every log line) goes to stderr.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)
    try:
        return asyncio.run(serve(locations, safe_mode=args.safe_mode,
                                 view_ok=lambda view: cli_host.sees_the_same(args, view), say=_say))
    except KeyboardInterrupt:
        return 130


# -- claude hook ------------------------------------------------------------------------------------------


def claude_hook(args: argparse.Namespace) -> int:
    from aleph_gui.gateways import claude_hook as bridge

    return bridge.run(lambda event, data: run_chain(args, event, data), fail_closed=args.fail_closed or None)


def run_chain(args: argparse.Namespace, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """`FireResult.to_json()` for one event: from the running host, else from a core started here."""
    result = fire_on_host(args, event, data)
    return result if result is not None else fire_in_process(args, event, data)


def fire_on_host(args: argparse.Namespace, event: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The host's answer, or None when no host runs (or the one that runs looks at other plugins)."""
    from aleph_gui import cli_host
    from aleph_gui.host import rpc
    from aleph_gui.host.client import HostHandedOver, HostUnavailable, find_host

    home = cli_host.home_of(args)
    while True:
        try:
            client = find_host(home, HOOK_CLIENT, wait=HANDOVER_WAIT_S)
        except HostUnavailable:  # host.json names a host that never answered: run the chain here
            return None
        if client is None or not cli_host.sees_the_same(args, client.host.get("view")):
            if client is not None:
                client.close()
            return None
        with client:
            try:
                result: dict[str, Any] = client.call("fire", {"event": event, "data": data},
                                                     timeout=HOOK_CALL_TIMEOUT_S)
                return result
            except HostHandedOver:
                continue  # never read by the old host: ask the next one
            except rpc.RemoteError as exc:
                if exc.code == rpc.HANDING_OVER:
                    continue
                raise RuntimeError(exc.message) from None


def fire_in_process(args: argparse.Namespace, event: str, data: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    from aleph_gui import cli_runtime

    result: dict[str, Any] = asyncio.run(cli_runtime.run_operation(args, "fire", {"event": event, "data": data},
                                                                   client=HOOK_CLIENT))
    return result


# -- claude install / uninstall ------------------------------------------------------------------------------


def claude_setup(args: argparse.Namespace) -> int:
    import json

    from aleph_gui.gateways.claude_install import cmd_claude_install, cmd_claude_uninstall
    from aleph_gui.gateways.json_settings import SettingsFileError

    command = cmd_claude_install if args.claude_action == "install" else cmd_claude_uninstall
    # The installed command names the same home this one uses, so Claude reaches the same host.
    home = args.home or os.environ.get("ALEPH_HOME") or None
    try:
        return command(scope=args.scope, desktop=args.desktop, dry_run=args.dry_run, aleph_home=home,
                       project=str(Path(args.project).expanduser()) if args.project else None, as_json=args.json)
    except SettingsFileError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
        _say(f"aleph-ext: {exc}")
        return 1


def claude(args: argparse.Namespace) -> int:
    if args.claude_action == "hook":
        return claude_hook(args)
    return claude_setup(args)
