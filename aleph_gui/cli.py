"""`aleph-ext`: the extension manager from the command line (DESIGN.md § Interfaces).

This module parses the command line and picks where a command runs (`run`):
  * through the home's running host when one answers (`cli_host`): list, show, grant, revoke, enable, disable,
    call, fire, service, skills, install, uninstall, mcp tools, watch — state lives in one place;
  * otherwise in-process, as the same operation of the host's table (`cli_runtime`): inventory commands on a
    headless manager that never loads plugin code, Qt or Extism; the others on a started manager;
  * never routed: `validate`, `init`; `serve` / `host status`, which are about the host itself; and the
    commands agents run (`mcp serve`, `claude ...`, in `cli_agents`), which find the host themselves.
Output is built from the operations' JSON results in one place (`cli_output`), so it is the same either way.

Parsed arguments:

    call ID TOOL [--input JSON]          -> args.id, args.tool, args.input
    fire EVENT [--payload JSON] [--json] -> args.event, args.payload, args.json
    skills [--json]                      -> args.json
    install PATH [--replace]             -> args.path, args.replace
    uninstall ID                         -> args.id
    watch [--json]                       -> args.json
    mcp tools ID SERVER                  -> args.mcp_command == "tools", args.id, args.server
    mcp serve                            -> args.mcp_command == "serve" (MCP on stdio, for agents)
    service start|stop ID NAME           -> args.service_action, args.id, args.name
    service status [ID] [--json]         -> args.service_action == "status", args.id (None = all), args.json
    skills show NAME                     -> args.skills_action == "show", args.name
    config ID [KEY [VALUE]] [--unset K]  -> args.id, args.key, args.value, args.unset, args.json
    run ID NAME [ARGS…]                  -> args.id, args.name, args.args
    trust [DIR] / untrust [DIR]          -> args.dir (None = the current project)
    log [--follow] [--event E] [--plugin ID] [--limit N] [--json]
    init NAME [--kind K] [--dir DIR]     -> args.name, args.kind, args.dir
    serve [--http [PORT]]                -> args.http (None: no HTTP; PORT, default 8741; 0: any free port)
    host status [--json]                 -> args.host_command == "status", args.json
    claude hook [--fail-closed]          -> args.claude_action == "hook", args.fail_closed
    claude install|uninstall [--scope S] [--desktop] [--dry-run] [--json]
                                         -> args.claude_action, args.scope, args.desktop, args.dry_run, args.json

Every namespace also has args.command, args.home, args.project, args.no_builtin, args.safe_mode.
`--json` output is one JSON document on stdout; messages for people go to stderr.
"""

from __future__ import annotations

import gc
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

# -- argument parsing ---------------------------------------------------------------------


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The global options; repeated on every subcommand so they work before or after it."""
    import argparse

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
    import argparse

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
    mcp.add_parser("serve", parents=[common],
                   help="serve every enabled plugin's tools and prompts to an MCP client on stdio (relays to the "
                        "running host)")
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
    p = add("serve", "run the host of this home in the foreground until stopped (Ctrl+C)")
    p.add_argument("--http", nargs="?", const=DEFAULT_HTTP_PORT, default=None, type=_port, metavar="PORT",
                   help=f"also serve MCP and plugin routes on http://127.0.0.1:PORT (default {DEFAULT_HTTP_PORT}; "
                        "0: any free port)")
    p = add("host", "about the host of this home")
    host = p.add_subparsers(dest="host_command", metavar="ACTION", required=True)
    status = host.add_parser("status", help="who hosts this home: pid, kind, socket, clients (exit 1: nobody)",
                             parents=[common])
    status.add_argument("--json", action="store_true")
    p = add("claude", "connect Claude Code and Claude Desktop: their hook command and installer")
    claude = p.add_subparsers(dest="claude_action", metavar="ACTION", required=True)
    hook = claude.add_parser("hook", parents=[common],
                             help="what Claude Code runs for each hook event: reads its JSON on stdin, runs the "
                                  "Aleph hook chain, answers in Claude's hook protocol")
    hook.add_argument("--fail-closed", action="store_true",
                      help="when Aleph itself fails, block (exit 2) instead of letting the action go on")
    for action, text in (("install", "add Aleph's hook entries and MCP server to Claude's settings (backups first)"),
                         ("uninstall", "remove exactly what install added")):
        q = claude.add_parser(action, parents=[common], help=text)
        q.add_argument("--scope", choices=("user", "project", "local"), default=None,
                       help="which Claude Code settings (default user; project/local use --project or the "
                            "current folder)")
        q.add_argument("--desktop", action="store_true", help="Claude Desktop's claude_desktop_config.json "
                                                              "(alone, or with --scope)")
        q.add_argument("--dry-run", action="store_true", help="print the changes as a diff; write nothing")
        q.add_argument("--json", action="store_true")
    return parser


DEFAULT_HTTP_PORT = 8741  # the same as aleph_gui.gateways.http_gateway.DEFAULT_PORT (not imported: it is heavy)


def _port(text: str) -> int:
    import argparse

    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


# -- dispatch ----------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from aleph_gui.cli_output import print_json, say
    from aleph_gui.core.manifest.detect import load_manifest_file
    from aleph_gui.core.problems import has_errors

    path = Path(args.path).expanduser()
    result = load_manifest_file(path)
    valid = result.manifest is not None and not has_errors(result.problems)
    plugin_id = result.manifest.id if result.manifest else result.fallback_id
    if args.json:
        print_json({"valid": valid, "path": str(path), "id": plugin_id, "format": result.format,
                     "manifest_file": result.manifest_file,
                     "problems": [p.model_dump() for p in result.problems],
                     "manifest": result.manifest.model_dump(mode="json") if result.manifest else None})
    else:
        for problem in result.problems:
            say(f"{problem.severity}: {problem.sentence()}")
        if valid:
            say(f"valid: {plugin_id} ({result.format}, {result.manifest_file})")
        else:
            say(f"invalid: {path}")
    return 0 if valid else 1


def cmd_inventory(args: argparse.Namespace) -> int:
    """Inventory commands with no host: a headless manager that runs no plugin code."""
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


def cmd_claude(args: argparse.Namespace) -> int:
    from aleph_gui import cli_agents

    return cli_agents.claude(args)


def cmd_mcp_serve(args: argparse.Namespace) -> int:
    from aleph_gui import cli_agents

    return cli_agents.mcp_serve(args)


INVENTORY = ("list", "show", "enable", "disable", "grant", "revoke", "config", "trust", "untrust", "log", "skills")
COMMANDS = {"validate": cmd_validate, "serve": cmd_serve, "host": cmd_host,
            **{name: cmd_inventory for name in INVENTORY}}


def run(args: argparse.Namespace) -> int:
    """One parsed command: through the running host when one serves this home, else in-process."""
    if args.command == "claude":  # before anything else: Claude Code runs `claude hook` before every tool call
        return cmd_claude(args)
    if args.command == "mcp" and args.mcp_command == "serve":
        return cmd_mcp_serve(args)
    from aleph_gui import cli_host

    if args.command in cli_host.ROUTED:
        code = cli_host.routed(args)
        if code is not None:
            return code
    return COMMANDS.get(args.command, cmd_runtime)(args)


def claude_hook_args(argv: list[str]) -> SimpleNamespace | None:
    """`[options] claude hook [options]` read without building the whole parser (Claude Code runs it before every
    tool call: argparse and its ~25 subcommands cost more than the hook's own work). None: anything else."""
    values: dict[str, Any] = {"home": None, "project": None, "no_builtin": False, "safe_mode": False,
                              "fail_closed": False}
    words = []
    rest = iter(argv)
    for word in rest:
        if word in ("--home", "--project"):
            value = next(rest, None)
            if value is None:
                return None
            values[word[2:]] = value
        elif word.startswith(("--home=", "--project=")):
            key, value = word[2:].split("=", 1)
            values[key] = value
        elif word in ("--no-builtin", "--safe-mode", "--fail-closed"):
            values[word[2:].replace("-", "_")] = True
        elif word.startswith("-"):
            return None  # --help and the like: the parser answers
        else:
            words.append(word)
    if words != ["claude", "hook"]:
        return None
    return SimpleNamespace(command="claude", claude_action="hook", **values)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    hook = claude_hook_args(argv)
    if hook is not None:
        from aleph_gui import cli_agents

        return cli_agents.claude_hook(hook)  # type: ignore[arg-type]  # the same attributes argparse would set
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
