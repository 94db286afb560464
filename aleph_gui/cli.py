"""`aleph-ext`: the extension manager from the command line (DESIGN.md § Interfaces).

This module parses the command line and picks where a command runs (`run`):
  * through the home's running host when one answers (`cli_host`): list, show, grant, revoke, enable, disable,
    call, fire, service, skills, install, uninstall, mcp tools, watch — state lives in one place;
  * otherwise in-process, as the same operation of the host's table (`cli_runtime`): inventory commands on a
    headless manager that never loads plugin code, Qt or Extism; the others on a started manager;
  * never routed: `validate`, `init`; and `serve` / `host status`, which are about the host itself.
Output is built from the operations' JSON results in one place (`cli_output`), so it is the same either way.

Parsed arguments:

    call ID TOOL [--input JSON]          -> args.id, args.tool, args.input
    fire EVENT [--payload JSON] [--json] -> args.event, args.payload, args.json
    skills [--json]                      -> args.json
    install PATH [--replace]             -> args.path, args.replace
    uninstall ID                         -> args.id
    watch [--json]                       -> args.json
    mcp tools ID SERVER                  -> args.mcp_command == "tools", args.id, args.server
    service start|stop ID NAME           -> args.service_action, args.id, args.name
    service status [ID] [--json]         -> args.service_action == "status", args.id (None = all), args.json
    skills show NAME                     -> args.skills_action == "show", args.name
    config ID [KEY [VALUE]] [--unset K]  -> args.id, args.key, args.value, args.unset, args.json
    run ID NAME [ARGS…]                  -> args.id, args.name, args.args
    trust [DIR] / untrust [DIR]          -> args.dir (None = the current project)
    log [--follow] [--event E] [--plugin ID] [--limit N] [--json]
    init NAME [--kind K] [--dir DIR]     -> args.name, args.kind, args.dir
    serve                                -> (nothing more)
    host status [--json]                 -> args.host_command == "status", args.json

Every namespace also has args.command, args.home, args.project, args.no_builtin, args.safe_mode.
`--json` output is one JSON document on stdout; messages for people go to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import Any

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
    p = add("skills", "list skills, commands and agents (or `skills show NAME`: one's body)")
    p.add_argument("skills_action", nargs="?", choices=("show",), metavar="show")
    p.add_argument("name", nargs="?", default=None, help="show: the skill, command or agent (plugin:name)")
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
    p = add("service", "start, stop or show a plugin's background services (kept running by the host)")
    p.add_argument("service_action", choices=("start", "stop", "status"), metavar="start|stop|status")
    p.add_argument("id", nargs="?", default=None, help="the plugin (status: all plugins when left out)")
    p.add_argument("name", nargs="?", default=None, help="the service (start and stop)")
    p.add_argument("--json", action="store_true", help="status: one JSON document on stdout")
    p = add("config", "show or change a plugin's settings (checked against its config_schema)")
    p.add_argument("id")
    p.add_argument("key", nargs="?", default=None)
    p.add_argument("value", nargs="?", default=None, help="JSON (5, true, [\"a\"]) or plain text")
    p.add_argument("--unset", default=None, metavar="KEY", help="put KEY back to the plugin's default")
    p.add_argument("--json", action="store_true")
    p = add("run", "run a plugin's CLI entry; its output and exit code are passed through")
    p.add_argument("id")
    p.add_argument("name")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the plugin's command")
    for name, text in (("trust", "let the plugins of a project folder run (default: the current project)"),
                       ("untrust", "stop the plugins of a project folder (default: the current project)")):
        add(name, text).add_argument("dir", nargs="?", default=None)
    p = add("log", "the hook audit history; --follow streams the running host's calls as they happen")
    p.add_argument("--follow", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--event", default=None, metavar="E")
    p.add_argument("--plugin", default=None, metavar="ID")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="how many past entries (default 50)")
    p = add("init", "create a new plugin from a template")
    p.add_argument("name")
    p.add_argument("--kind", choices=("wasm", "nodejs", "static"), default="static")
    p.add_argument("--dir", default=None, metavar="DIR", help="where to create it (default: current folder)")
    add("serve", "run the host of this home in the foreground until stopped (Ctrl+C)")
    p = add("host", "about the host of this home")
    host = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    status = host.add_parser("status", help="who hosts this home: pid, kind, socket, clients (exit 1: nobody)",
                             parents=[common])
    status.add_argument("--json", action="store_true")
    return parser


# -- dispatch ----------------------------------------------------------------------------------


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _print_json(document: Any) -> None:
    # Compact on purpose: json's C encoder only runs without `indent` (10x faster on big lists).
    sys.stdout.write(json.dumps(document, ensure_ascii=False, default=str) + "\n")


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


def cmd_inventory(args: argparse.Namespace) -> int:
    """Inventory commands with no host: a headless manager that runs no plugin code."""
    import gc

    from aleph_gui import cli_runtime

    # Inventory commands are short-lived and allocate no cycles worth collecting; the cyclic
    # collector alone costs ~30% of listing thousands of plugins.
    gc.disable()
    return cli_runtime.run_command(args)


def cmd_runtime(args: argparse.Namespace) -> int:
    """Commands that load plugins or run the live manager live in `cli_runtime`."""
    from aleph_gui import cli_runtime

    return cli_runtime.run(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from aleph_gui import cli_host

    return cli_host.serve(args)


def cmd_host(args: argparse.Namespace) -> int:
    from aleph_gui import cli_host

    return cli_host.host_status(args)


INVENTORY = ("list", "show", "enable", "disable", "grant", "revoke", "config", "trust", "untrust", "log", "skills")
COMMANDS = {"validate": cmd_validate, "serve": cmd_serve, "host": cmd_host,
            **{name: cmd_inventory for name in INVENTORY}}


def run(args: argparse.Namespace) -> int:
    """One parsed command: through the running host when one serves this home, else in-process."""
    from aleph_gui import cli_host

    if args.command in cli_host.ROUTED:
        code = cli_host.routed(args)
        if code is not None:
            return code
    return COMMANDS.get(args.command, cmd_runtime)(args)


def main(argv: list[str] | None = None) -> int:
    # A command builds many small objects that live until it ends; at the collector's default pace a full
    # collection re-walks them again and again (a third of `list` over 2,000 plugins). Collect less often.
    gc.set_threshold(50_000, 20, 20)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "service" and args.service_action != "status" and not args.name:
        parser.error(f"service {args.service_action} needs ID and NAME")
    if args.command == "skills" and args.skills_action == "show" and not args.name:
        parser.error("skills show needs NAME")
    if args.command == "config" and args.unset and args.key:
        parser.error("config: give either KEY [VALUE] or --unset KEY")
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `aleph-ext list | head`
        return 0
    finally:
        gc.freeze()  # else the exit's last collection walks every object once more, to find no garbage


if __name__ == "__main__":
    sys.exit(main())
