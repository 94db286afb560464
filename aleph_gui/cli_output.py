"""What `aleph-ext` asks for and what it prints — in one place, whoever answered.

`request_for(args)` turns a parsed command into an operation of the host's table (`host/operations.py`):
`(method, params)`. `present(args, result)` prints an operation's JSON result and returns the exit code;
`present_failure(args, failure)` does the same for an error. The answer comes from the running host or from
the same operation run in-process; this module cannot tell, so output and exit codes are the same either way.

Stdlib only (json, os, sys): routed commands import this and the host client, never the core.
`--json` output is one JSON document on stdout; messages for people go to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


class Failure(Exception):
    """An operation's error, from the host or in-process: the sentence and the error class it names."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def say(message: str) -> None:
    print(message, file=sys.stderr)


def print_json(document: Any, pretty: bool = False) -> None:
    # Compact unless pretty: json's C encoder only runs without `indent` (10x faster on big lists).
    text = json.dumps(document, indent=2 if pretty else None, ensure_ascii=False, default=str)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


# -- requests ------------------------------------------------------------------------------------------


def json_arg(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Failure(f"{what} is not valid JSON ({exc.msg} at column {exc.colno})", "UsageError") from None
    if not isinstance(value, dict):
        raise Failure(f"{what} must be a JSON object, not {type(value).__name__}", "UsageError")
    return value


def request_for(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The operation a command asks for; raises Failure for arguments that cannot be sent."""
    command = args.command
    if command == "list":
        return command, {}
    if command == "skills":
        return ("skills.show", {"name": args.name}) if args.skills_action == "show" else ("skills", {})
    if command == "config":
        if args.unset:
            return "config.unset", {"plugin": args.id, "key": args.unset}
        if args.value is not None:
            return "config.set", {"plugin": args.id, "key": args.key, "value": _setting_value(args.value)}
        return "config", {"plugin": args.id}
    if command == "run":
        return "run", {"plugin": args.id, "name": args.name, "args": list(args.args)}
    if command in ("trust", "untrust"):  # the host does not share this process's working folder
        folder = args.dir or args.project or os.getcwd()
        return "trust", {"folder": os.path.abspath(os.path.expanduser(folder)), "trusted": command == "trust"}
    if command == "log":
        params: dict[str, Any] = {"limit": args.limit}
        params.update({k: v for k, v in (("event", args.event), ("plugin", args.plugin)) if v})
        return "log", params
    if command in ("show", "enable", "disable", "grant", "revoke", "uninstall"):
        return command, {"id": args.id}
    if command == "call":
        return "call", {"plugin": args.id, "tool": args.tool, "arguments": json_arg(args.input, "--input")}
    if command == "fire":
        return "fire", {"event": args.event, "data": json_arg(args.payload, "--payload")}
    if command == "install":  # the host does not share this process's working folder
        return "install", {"path": os.path.abspath(os.path.expanduser(args.path)), "replace": args.replace}
    if command == "mcp":
        return "mcp.tools", {"plugin": args.id, "server": args.server}
    if command == "service":
        if args.service_action == "status":
            return "service.status", {"plugin": args.id} if args.id else {}
        return f"service.{args.service_action}", {"plugin": args.id, "name": args.name}
    raise ValueError(f"'{command}' is not an operation")


def _setting_value(text: str) -> Any:
    """A setting typed on the command line: JSON when it reads as JSON (5, true, ["a"]), else the text."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


# -- results -------------------------------------------------------------------------------------------


def present(args: argparse.Namespace, result: Any) -> int:
    return _PRESENTERS[args.command](args, result)


def present_failure(args: argparse.Namespace, failure: Failure) -> int:
    message = failure.message
    if failure.kind == "UnknownPlugin":
        message += " (aleph-ext list shows the discovered plugins)"
    if args.command == "call":  # the contract: `{"error": ...}` on stdout
        print_json({"error": failure.message}, pretty=True)
    elif getattr(args, "json", False):
        print_json({"error": failure.message})
    say(f"aleph-ext: {message}")
    return 1


def _list(args: argparse.Namespace, result: dict[str, Any]) -> int:
    plugins = result["plugins"]
    if args.json:
        print_json(plugins)
        return 0
    if not plugins:
        say(f"no plugins found (looked in {', '.join(result['looked_in'])})")
        return 0
    rows = [("ID", "NAME", "VERSION", "KIND", "FORMAT", "ORIGIN", "STATE", "PROBLEMS")]
    for p in plugins:
        problems = len(p["problems"]) + len(p["conflicts"])
        rows.append((p["id"], p["name"], p["version"], p["kind"], p["format"] or "-", p["origin"], p["state"],
                     str(problems) if problems else ""))
    print_table(rows)
    return 0


def print_table(rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell; the first row is the header."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def problem_sentence(problem: dict[str, Any]) -> str:
    where = f"{problem['file']}: {problem['field']}" if problem.get("field") else problem["file"]
    return f"{where} — {problem['message']}"


def _capability_line(cap: dict[str, Any]) -> str:
    label = cap["event"] if cap["type"] == "hook" else cap["name"]
    text = f"  {cap['type']:<10} {label}"
    if cap["type"] == "hook":
        matcher = f", only {cap['matcher']}" if cap.get("matcher") else ""
        text += f" (priority {cap['priority']}, {cap['hook_kind']}{matcher})"
    if cap.get("description"):
        text += f" — {cap['description']}"
    return text


def _scope_lines(doc: dict[str, Any]) -> list[str]:
    scope = doc["scope"]
    lines = [f"requested permissions (risk: {scope['risk']}):"]
    for row in scope["rows"]:
        if row["requested"]:
            lines.append(f"  [{row['risk']:<6}] {row['text']} — {row['enforcement_text']}")
    granted = scope["granted_permissions"]
    if granted is None:
        lines.append("granted: nothing yet" if scope["needs_approval"] else
                     "granted: nothing needed (it only writes its own log)")
    else:
        lines.append("granted: " + ", ".join(p["text"] for p in granted))
    if granted is not None and scope["pending"]:
        lines.append("waiting for your approval (aleph-ext grant " + doc["id"] + "):")
        lines.extend(f"  [{p['risk']:<6}] {p['text']}" for p in scope["pending"])
    return lines


def _show(args: argparse.Namespace, doc: dict[str, Any]) -> int:
    if args.json:
        print_json(doc)
        return 0
    manifest = doc["manifest"]
    lines = [f"{doc['id']} — {doc['name']} {doc['version']}".rstrip()]
    lines.append(f"state:   {doc['state']}" + (f" ({doc['state_reason']})" if doc["state_reason"] else ""))
    lines.append(f"kind:    {doc['kind']}" + (f" ({doc['format']}, {manifest['manifest_file']})" if manifest else ""))
    lines.append(f"origin:  {doc['origin']} — {doc['path']}")
    for other in doc["overrides"]:
        lines.append(f"overrides the {other['origin']} plugin at {other['path']}")
    if manifest and manifest["description"]:
        lines.append(f"about:   {manifest['description']}")
    if manifest and manifest["capabilities"]:
        lines.append("capabilities:")
        lines.extend(_capability_line(c) for c in manifest["capabilities"])
    if manifest:
        lines.extend(_scope_lines(doc))
    if doc["conflicts"]:
        lines.append("conflicts:")
        lines.extend(f"  {c}" for c in doc["conflicts"])
    if doc["problems"]:
        lines.append("problems:")
        lines.extend(f"  {p['severity']:<7} {problem_sentence(p)}" for p in doc["problems"])
    print("\n".join(lines))
    return 0


def _toggle(args: argparse.Namespace, result: dict[str, Any]) -> int:
    plugin = result["plugin"]
    if args.command == "disable":
        say(f"disabled {plugin['id']}")
    elif plugin["state"] == "invalid":
        say(f"enabled {plugin['id']}, but it cannot run until its manifest is fixed: {plugin['state_reason']}")
    elif plugin["state"] == "needs_review":
        say(f"enabled {plugin['id']}; it still needs your approval: aleph-ext grant {plugin['id']}")
    else:
        say(f"enabled {plugin['id']}")
    return 0


def _grant(args: argparse.Namespace, result: dict[str, Any]) -> int:
    say(f"granted {result['plugin']['id']}: " + "; ".join(result["granted"]))
    return 0


def _revoke(args: argparse.Namespace, result: dict[str, Any]) -> int:
    plugin_id = result["plugin"]["id"]
    if result["had_grant"]:
        say(f"revoked {plugin_id}: it will not run until you grant it again")
    else:
        say(f"{plugin_id} had no granted permissions; nothing to revoke")
    return 0


def _call(args: argparse.Namespace, result: Any) -> int:
    print_json(result, pretty=True)
    return 0


def _fire(args: argparse.Namespace, doc: dict[str, Any]) -> int:
    if args.json:
        print_json(doc, pretty=True)
        return 0
    for t in doc["trace"]:
        err = f"  error: {t['error']}" if t.get("error") else ""
        say(f"{t['plugin']:<24} {t['handler']:<24} {t['decision']:<10} {t['duration_us']} µs{err}")
    say(f"decision: {doc['decision']}" + (f" ({doc['reason']})" if doc.get("reason") else ""))
    print_json(doc["data"], pretty=True)
    return 0


def _skills(args: argparse.Namespace, entries: list[dict[str, Any]]) -> int:
    if args.json:
        print_json(entries, pretty=True)
        return 0
    if not entries:
        say("no skills, commands or agents found")
    for doc in entries:
        problems = f"  [{len(doc.get('problems') or [])} problem(s)]" if doc.get("problems") else ""
        print(f"{doc['kind']:<8} {doc['name']:<40} {doc.get('source', '')}{problems}")
        if doc.get("description"):
            print(f"         {doc['description'][:100]}")
    return 0


def _install(args: argparse.Namespace, result: dict[str, Any]) -> int:
    p = result["plugin"]
    say(f"installed {p['id']} {p['version']} into {p['path']} — {p['state']}"
        + (f": {p['state_reason']}" if p["state_reason"] else ""))
    return 0


def _uninstall(args: argparse.Namespace, result: dict[str, Any]) -> int:
    say(f"uninstalled {result['id']}")
    return 0


def _mcp(args: argparse.Namespace, tools: Any) -> int:
    print_json(tools, pretty=True)
    return 0


def _service(args: argparse.Namespace, result: dict[str, Any]) -> int:
    if args.service_action != "status":
        say(f"service {result['name']} of {result['plugin']}: {result['state']}")
        return 0
    services = result["services"]
    if args.json:
        print_json(services)
        return 0
    if not services:
        say(f"{args.id} declares no services" if args.id else "no plugin declares a service")
        return 0
    print_table([("PLUGIN", "NAME", "STATE")] + [(s["plugin"], s["name"], s["state"]) for s in services])
    return 0


def _skills_or_body(args: argparse.Namespace, result: Any) -> int:
    if args.skills_action != "show":
        return _skills(args, result)
    if args.json:
        print_json(result)
        return 0
    say(f"{result['kind']} {result['name']} — {result['source']} ({result['path']})")
    sys.stdout.write(result["body"])
    return 0


def _config(args: argparse.Namespace, settings: dict[str, Any]) -> int:
    effective, values = settings["effective"], settings["values"]
    if args.unset:
        say(f"{settings['plugin']}: {args.unset} is back to its default"
            + (f" ({json.dumps(effective[args.unset])})" if args.unset in effective else ""))
        return 0
    if args.value is not None:
        say(f"{settings['plugin']}: {args.key} = {json.dumps(effective.get(args.key), ensure_ascii=False)}")
        return 0
    if args.key:
        if args.key not in effective:
            say(f"aleph-ext: {settings['plugin']} has no setting '{args.key}'")
            return 1
        print_json(effective[args.key])
        return 0
    if args.json:
        print_json(settings)
        return 0
    properties = (settings["schema"] or {}).get("properties") or {}
    if not effective and not properties:
        say(f"{settings['plugin']} has no settings")
        return 0
    for key in dict.fromkeys([*properties, *effective]):
        where = "set by you" if key in values else "default"
        value = json.dumps(effective[key], ensure_ascii=False) if key in effective else "(not set)"
        help_text = properties.get(key, {}).get("description", "") if isinstance(properties.get(key), dict) else ""
        print(f"{key} = {value}  ({where})" + (f"  — {help_text}" if help_text else ""))
    return 0


def _run(args: argparse.Namespace, outcome: dict[str, Any]) -> int:
    sys.stdout.write(outcome["stdout"])
    sys.stdout.flush()
    sys.stderr.write(outcome["stderr"])
    return int(outcome["exit_code"])


def _trust(args: argparse.Namespace, result: dict[str, Any]) -> int:
    count = len(result["plugins"])
    if result["trusted"]:
        say(f"trusted {result['folder']}: its plugins may run once approved ({count} plugin(s) there)")
    else:
        say(f"stopped trusting {result['folder']}: its plugins do not run ({count} plugin(s) there)")
    return 0


def log_line(args: argparse.Namespace, record: dict[str, Any]) -> None:
    """One audit record as `log` prints it (a JSON line with --json)."""
    if args.json:
        print_json(record)
        return
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record["time"]))
    extra = "".join(f"  {k}: {record[k]}" for k in ("client", "error") if record.get(k))
    print(f"{when}  {record['event']:<18} {record['plugin']:<22} {record['handler']:<22} {record['decision']:<9} "
          f"{record['duration_us']} µs{extra}", flush=True)


def _log(args: argparse.Namespace, records: list[dict[str, Any]]) -> int:
    if not records and not args.json:
        say("the audit log has no entries" + (" that match" if args.event or args.plugin else ""))
    for record in records:
        log_line(args, record)
    if args.follow:
        say("aleph-ext: no host is running for this home, so there is nothing to follow "
            "(open aleph-gui or run aleph-ext serve)")
        return 1
    return 0


_PRESENTERS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "config": _config, "run": _run, "trust": _trust, "untrust": _trust, "log": _log,
    "list": _list, "show": _show, "enable": _toggle, "disable": _toggle, "grant": _grant, "revoke": _revoke,
    "call": _call, "fire": _fire, "skills": _skills_or_body, "install": _install, "uninstall": _uninstall, "mcp": _mcp,
    "service": _service,
}


# -- watch and host status ------------------------------------------------------------------------------


def watch_line(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    """One change event as `watch` prints it (a JSON line with --json)."""
    if args.json:
        print_json(doc)
    else:
        detail = {k: v for k, v in doc.items() if k not in ("type", "id", "time") and v}
        print(f"{doc['type']:<16} {doc['id']:<24} {json.dumps(detail, ensure_ascii=False)}", flush=True)


def host_status(args: argparse.Namespace, status: dict[str, Any]) -> int:
    if args.json:
        print_json(status)
        return 0
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status["started"]))
    clients = status["clients"]
    names = ", ".join(f"{c['name'] or '?'} (pid {c['pid']})" for c in clients)
    print(f"{status['home']} is hosted by the {status['kind']} (pid {status['pid']}) since {started}")
    print(f"socket:  {status['socket']}")
    http = status["http"]
    print(f"http:    {http + ' (MCP at ' + http + '/mcp, plugin routes at ' + http + '/plugins/<id>/...)' if http else 'off'}")
    print(f"clients: {len(clients)} connected" + (f": {names}" if names else ""))
    return 0
