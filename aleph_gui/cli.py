"""`aleph-ext`: the headless extension manager (DESIGN.md § Interfaces).

Inventory commands (`list`, `show`, `validate`, `enable`, `disable`, `grant`, `revoke`) are served
here by a headless ExtensionManager (`load=False`) that never loads plugin code, Qt or Extism.
Commands that run plugins are parsed here and handed to `aleph_gui.cli_runtime.run(args)`; their
arguments:

    call ID TOOL [--input JSON]          -> args.id, args.tool, args.input
    fire EVENT [--payload JSON] [--json] -> args.event, args.payload, args.json
    skills [--json]                      -> args.json
    install PATH [--replace]             -> args.path, args.replace
    uninstall ID                         -> args.id
    watch [--json]                       -> args.json
    mcp tools ID SERVER                  -> args.mcp_command == "tools", args.id, args.server
    service start|stop ID NAME           -> args.service_action, args.id, args.name
    init NAME [--kind K] [--dir DIR]     -> args.name, args.kind, args.dir

Every namespace also has args.command, args.home, args.project, args.no_builtin, args.safe_mode.
`--json` output is one JSON document on stdout; messages for people go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily at run time: start-up stays fast
    from aleph_gui.core.inventory import PluginInfo
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.paths import Locations

RUNTIME_COMMANDS = ("call", "fire", "skills", "install", "uninstall", "watch", "mcp", "service", "init")


# -- argument parsing ---------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; repeated on every subcommand so they work before or after it."""
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--home", default=default, metavar="DIR",
                        help="Aleph home (plugins/, state.db); default $ALEPH_HOME or ~/.aleph")
    parser.add_argument("--project", default=default, metavar="DIR",
                        help="project folder whose .aleph/plugins come first; default: current folder")
    parser.add_argument("--no-builtin", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="ignore the plugins shipped with the app")
    parser.add_argument("--safe-mode", action="store_true",
                        default=argparse.SUPPRESS if suppress else False,
                        help="run no plugin except the builtin ones")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aleph-ext", description="Manage the plugins of the Aleph assistant from the command line.")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = add("list", "list every discovered plugin with its state")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p = add("show", "show one plugin in full, with requested and granted permissions")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p = add("validate", "validate a plugin folder or a manifest file (exit 1 when invalid)")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    for name, text in (("enable", "turn a plugin on (saved)"), ("disable", "turn a plugin off (saved)"),
                       ("grant", "approve the permissions a plugin requests now"),
                       ("revoke", "withdraw a plugin's approved permissions")):
        add(name, text).add_argument("id")

    p = add("call", "load a plugin and invoke one of its tools; result JSON on stdout")
    p.add_argument("id")
    p.add_argument("tool")
    p.add_argument("--input", default="{}", metavar="JSON", help="tool arguments as a JSON object")
    p = add("fire", "run the hook chain for an event")
    p.add_argument("event")
    p.add_argument("--payload", default="{}", metavar="JSON", help="event data as a JSON object")
    p.add_argument("--json", action="store_true")
    p = add("skills", "list skills, commands and agents")
    p.add_argument("--json", action="store_true")
    p = add("install", "install a plugin folder or .zip into the user location")
    p.add_argument("path")
    p.add_argument("--replace", action="store_true", help="replace an installed plugin with the same id")
    p = add("uninstall", "remove a plugin from the user location")
    p.add_argument("id")
    p = add("watch", "run the manager with hot reload and print each change")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p = add("mcp", "work with a plugin's MCP servers")
    mcp = p.add_subparsers(dest="mcp_command", metavar="ACTION", required=True)
    tools = mcp.add_parser("tools", help="start one MCP server of a plugin and list its tools", parents=[common])
    tools.add_argument("id")
    tools.add_argument("server")
    p = add("service", "start or stop a plugin's background service")
    p.add_argument("service_action", choices=("start", "stop"), metavar="start|stop")
    p.add_argument("id")
    p.add_argument("name")
    p = add("init", "create a new plugin from a template")
    p.add_argument("name")
    p.add_argument("--kind", choices=("wasm", "nodejs", "static"), default="static")
    p.add_argument("--dir", default=None, metavar="DIR", help="where to create it (default: current folder)")
    return parser


# -- helpers -----------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _print_json(document: Any) -> None:
    # Compact on purpose: json's C encoder only runs without `indent` (10x faster on big lists).
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")


def _locations(args: argparse.Namespace) -> Locations:
    from aleph_gui.core.paths import Locations

    return Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)


def _headless(body: Callable[[argparse.Namespace, ExtensionManager], Awaitable[int]],
              ) -> Callable[[argparse.Namespace], int]:
    """An inventory command: a manager that decides every plugin's state but runs no plugin code
    (the same code path the window uses for every state change)."""

    def command(args: argparse.Namespace) -> int:
        import asyncio

        from aleph_gui.core.manager import ExtensionManager

        async def run() -> int:
            manager = ExtensionManager(_locations(args), safe_mode=args.safe_mode, load=False)
            try:
                await manager.discover()
                return await body(args, manager)
            finally:
                manager.state.close()

        return asyncio.run(run())

    return command


def _plugin_command(
    body: Callable[[argparse.Namespace, ExtensionManager, PluginInfo], Awaitable[int]],
) -> Callable[[argparse.Namespace], int]:
    """A command about one plugin (`args.id`): exit 1 with a clear message when it is unknown."""

    async def command(args: argparse.Namespace, manager: ExtensionManager) -> int:
        if not any(i.id == args.id for i in manager.plugins()):
            _say(f"aleph-ext: unknown plugin '{args.id}' (aleph-ext list shows the discovered plugins)")
            return 1
        return await body(args, manager, manager.plugin(args.id))

    return _headless(command)


# -- inventory commands -------------------------------------------------------------------------


@_headless
async def cmd_list(args: argparse.Namespace, manager: ExtensionManager) -> int:
    infos = manager.plugins()
    if args.json:
        _print_json([i.to_json() for i in infos])
        return 0
    if not infos:
        where = ", ".join(str(root) for _, root in manager.locations.plugin_roots())
        _say(f"no plugins found (looked in {where})")
        return 0
    rows = [("ID", "NAME", "VERSION", "KIND", "FORMAT", "ORIGIN", "STATE", "PROBLEMS")]
    for i in infos:
        problems = len(i.problems) + len(i.conflicts)
        rows.append((i.id, i.name, i.version, i.kind, i.format or "-", i.origin, i.state,
                     str(problems) if problems else ""))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _scope_lines(info: PluginInfo) -> list[str]:
    lines = [f"requested permissions (risk: {info.risk}):"]
    for row in info.permissions:
        if row.requested:
            lines.append(f"  [{row.permission.risk:<6}] {row.permission.text} — {row.sentence}")
    if info.grant is None:
        lines.append("granted: nothing yet" if info.needs_approval else
                     "granted: nothing needed (it only writes its own log)")
    else:
        lines.append("granted: " + ", ".join(p.text for p in info.grant.scope.permissions()))
    if info.grant is not None and info.waiting:
        lines.append("waiting for your approval (aleph-ext grant " + info.id + "):")
        lines.extend(f"  [{r.permission.risk:<6}] {r.permission.text}" for r in info.waiting)
    return lines


def _capability_line(cap: Any) -> str:
    text = f"  {cap.type:<10} {cap.label}"
    if cap.type == "hook":
        text += f" (priority {cap.priority}, {cap.hook_kind}" + (f", only {cap.matcher}" if cap.matcher else "") + ")"
    if cap.description:
        text += f" — {cap.description}"
    return text


@_plugin_command
async def cmd_show(args: argparse.Namespace, manager: ExtensionManager, info: PluginInfo) -> int:
    shadowed = [i for i in manager.plugins() if i.id == info.id and i.path != info.path]
    if args.json:
        doc = info.to_json()
        doc["overrides"] = [{"origin": i.origin, "path": str(i.path)} for i in shadowed]
        doc["scope"]["enforcement"] = {r.key: r.sentence for r in info.permissions if r.requested}
        doc["manifest"] = info.manifest.model_dump(mode="json") if info.manifest else None
        _print_json(doc)
        return 0
    lines = [f"{info.id} — {info.name} {info.version}".rstrip()]
    lines.append(f"state:   {info.state}" + (f" ({info.state_reason})" if info.state_reason else ""))
    lines.append(f"kind:    {info.kind}" + (f" ({info.format}, {info.manifest.manifest_file})" if info.manifest else ""))
    lines.append(f"origin:  {info.origin} — {info.path}")
    for other in shadowed:
        lines.append(f"overrides the {other.origin} plugin at {other.path}")
    if info.manifest and info.manifest.description:
        lines.append(f"about:   {info.manifest.description}")
    if info.manifest and info.manifest.capabilities:
        lines.append("capabilities:")
        lines.extend(_capability_line(c) for c in info.manifest.capabilities)
    if info.manifest:
        lines.extend(_scope_lines(info))
    if info.conflicts:
        lines.append("conflicts:")
        lines.extend(f"  {c.sentence()}" for c in info.conflicts)
    if info.problems:
        lines.append("problems:")
        lines.extend(f"  {p.severity:<7} {p.sentence()}" for p in info.problems)
    print("\n".join(lines))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from aleph_gui.core.manifest.detect import load_manifest_file
    from aleph_gui.core.problems import has_errors

    path = Path(args.path).expanduser()
    result = load_manifest_file(path)
    valid = result.manifest is not None and not has_errors(result.problems)
    plugin_id = result.manifest.id if result.manifest else result.fallback_id
    if args.json:
        _print_json({"valid": valid, "path": str(path), "id": plugin_id, "format": result.format,
                     "manifest_file": result.manifest_file,
                     "problems": [p.model_dump() for p in result.problems],
                     "manifest": result.manifest.model_dump(mode="json") if result.manifest else None})
    else:
        for problem in result.problems:
            _say(f"{problem.severity}: {problem.sentence()}")
        if valid:
            _say(f"valid: {plugin_id} ({result.format}, {result.manifest_file})")
        else:
            _say(f"invalid: {path}")
    return 0 if valid else 1


@_plugin_command
async def cmd_toggle(args: argparse.Namespace, manager: ExtensionManager, info: PluginInfo) -> int:
    if args.command == "disable":
        await manager.disable(info.id)
        _say(f"disabled {info.id}")
        return 0
    info = await manager.enable(info.id)
    if info.state == "invalid":
        _say(f"enabled {info.id}, but it cannot run until its manifest is fixed: {info.state_reason}")
    elif info.state == "needs_review":
        _say(f"enabled {info.id}; it still needs your approval: aleph-ext grant {info.id}")
    else:
        _say(f"enabled {info.id}")
    return 0


@_plugin_command
async def cmd_grant(args: argparse.Namespace, manager: ExtensionManager, info: PluginInfo) -> int:
    if info.manifest is None:
        _say(f"aleph-ext: cannot grant '{info.id}': its manifest could not be read ({info.state_reason})")
        return 1
    info = await manager.grant(info.id)
    assert info.grant is not None
    _say(f"granted {info.id}: " + "; ".join(p.text for p in info.grant.scope.permissions()))
    return 0


@_plugin_command
async def cmd_revoke(args: argparse.Namespace, manager: ExtensionManager, info: PluginInfo) -> int:
    had_grant = info.grant is not None
    await manager.revoke(info.id)
    if had_grant:
        _say(f"revoked {info.id}: it will not run until you grant it again")
    else:
        _say(f"{info.id} had no granted permissions; nothing to revoke")
    return 0


def cmd_runtime(args: argparse.Namespace) -> int:
    """Commands that load plugins or run the live manager live in `cli_runtime`."""
    from aleph_gui import cli_runtime

    return cli_runtime.run(args)


COMMANDS = {
    "list": cmd_list, "show": cmd_show, "validate": cmd_validate, "enable": cmd_toggle,
    "disable": cmd_toggle, "grant": cmd_grant, "revoke": cmd_revoke,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS.get(args.command, cmd_runtime)
    if handler is not cmd_runtime:
        import gc

        # Inventory commands are short-lived and allocate no cycles worth collecting; the cyclic
        # collector alone costs ~30% of listing thousands of plugins.
        gc.disable()
    from aleph_gui.core.errors import AlephError

    try:
        return handler(args)
    except AlephError as exc:
        if getattr(args, "json", False):
            _print_json({"error": str(exc)})
        _say(f"aleph-ext: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `aleph-ext list | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
