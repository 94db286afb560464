"""`aleph-ext` commands that run plugin code or the live manager: call, fire, skills, install,
uninstall, watch, mcp tools, service, init. Parsed in cli.py; served here through the ExtensionManager.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aleph_gui.core.errors import AlephError
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _out(document: Any, pretty: bool = True) -> None:
    text = json.dumps(document, indent=2 if pretty else None, ensure_ascii=False, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _json_arg(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AlephError(None, f"{what} is not valid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict):
        raise AlephError(None, f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _manager(args: argparse.Namespace, watch: bool = False) -> ExtensionManager:
    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)
    return ExtensionManager(locations, safe_mode=args.safe_mode, watch=watch)


async def _with_manager(args: argparse.Namespace, body: Callable[[ExtensionManager], Awaitable[int]],
                        watch: bool = False) -> int:
    manager = _manager(args, watch)
    await manager.start()
    try:
        return await body(manager)
    finally:
        await manager.stop()


async def cmd_call(args: argparse.Namespace) -> int:
    arguments = _json_arg(args.input, "--input")

    async def body(m: ExtensionManager) -> int:
        try:
            result = await m.call_tool(args.id, args.tool, arguments)
        except AlephError as exc:
            _out({"error": str(exc)})
            _say(str(exc))
            return 1
        _out(result)
        return 0

    return await _with_manager(args, body)


async def cmd_fire(args: argparse.Namespace) -> int:
    payload = _json_arg(args.payload, "--payload")

    async def body(m: ExtensionManager) -> int:
        result = await m.fire(args.event, payload)
        doc = result.to_json()
        if args.json:
            _out(doc)
        else:
            for t in doc["trace"]:
                err = f"  error: {t['error']}" if t.get("error") else ""
                _say(f"{t['plugin']:<24} {t['handler']:<24} {t['decision']:<10} {t['duration_us']} µs{err}")
            _say(f"decision: {doc['decision']}" + (f" ({doc['reason']})" if doc.get("reason") else ""))
            _out(doc["data"])
        return 0

    return await _with_manager(args, body)


async def cmd_skills(args: argparse.Namespace) -> int:
    from aleph_gui.core.discovery import discover
    from aleph_gui.core.skills import collect_skills

    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)
    entries = collect_skills(locations, discover(locations))
    if args.json:
        _out([e.to_json() for e in entries])
        return 0
    if not entries:
        _say("no skills, commands or agents found")
    for e in entries:
        doc = e.to_json()
        problems = f"  [{len(doc.get('problems') or [])} problem(s)]" if doc.get("problems") else ""
        print(f"{doc['kind']:<8} {doc['name']:<40} {doc.get('source', '')}{problems}")
        if doc.get("description"):
            print(f"         {doc['description'][:100]}")
    return 0


async def cmd_install(args: argparse.Namespace) -> int:
    async def body(m: ExtensionManager) -> int:
        info = await m.install(args.path, replace=args.replace)
        _say(f"installed {info.id} {info.version} into {info.path} — {info.state}"
             + (f": {info.state_reason}" if info.state_reason else ""))
        return 0

    return await _with_manager(args, body)


async def cmd_uninstall(args: argparse.Namespace) -> int:
    async def body(m: ExtensionManager) -> int:
        await m.uninstall(args.id)
        _say(f"uninstalled {args.id}")
        return 0

    return await _with_manager(args, body)


async def cmd_watch(args: argparse.Namespace) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    ready = False

    def show(event: Any) -> None:
        # The contract: the first line is Ready; the initial inventory is what `list` shows.
        nonlocal ready
        ready = ready or event.type == "Ready"
        if not ready:
            return
        doc = event.to_json()
        if args.json:
            _out(doc, pretty=False)
        else:
            detail = {k: v for k, v in doc.items() if k not in ("type", "id", "time") and v}
            print(f"{doc['type']:<16} {doc['id']:<24} {json.dumps(detail, ensure_ascii=False)}", flush=True)

    manager = _manager(args, watch=True)
    manager.subscribe(show)
    await manager.start()
    try:
        await stop.wait()
    finally:
        await manager.stop()
    return 0


async def cmd_mcp(args: argparse.Namespace) -> int:
    from aleph_gui.core.mcp import list_tools_of_plugin

    async def body(m: ExtensionManager) -> int:
        tools = await list_tools_of_plugin(m, args.id, args.server)
        _out(tools)
        return 0

    return await _with_manager(args, body)


async def cmd_service(args: argparse.Namespace) -> int:
    async def body(m: ExtensionManager) -> int:
        if args.service_action == "start":
            await m.start_service(args.id, args.name)
        else:
            await m.stop_service(args.id, args.name)
        services = m.plugin(args.id).runtime.get("services", {})
        _say(f"service {args.name} of {args.id}: {services.get(args.name, args.service_action + 'ed')}")
        return 0

    return await _with_manager(args, body)


async def cmd_init(args: argparse.Namespace) -> int:
    from aleph_gui.core.scaffold import create_plugin

    folder = create_plugin(args.name, kind=args.kind, parent=args.dir)
    _say(f"created {folder} — check it with: aleph-ext validate {folder}")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
    "call": cmd_call, "fire": cmd_fire, "skills": cmd_skills, "install": cmd_install,
    "uninstall": cmd_uninstall, "watch": cmd_watch, "mcp": cmd_mcp, "service": cmd_service, "init": cmd_init,
}


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(COMMANDS[args.command](args))
    except AlephError as exc:
        if args.command == "call":  # the contract: `{"error": ...}` on stdout
            _out({"error": str(exc)})
        _say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
