"""What `aleph-ext` asks for and what it prints — in one place, whoever answered.

`request_for(args)` turns a parsed command into an operation of the host's table (`host/operations.py`):
`(method, params)`. `present(args, result)` prints an operation's JSON result and returns the exit code;
`present_failure(args, failure)` does the same for an error. The answer comes from the running host or from
the same operation run in-process; this module cannot tell, so output and exit codes are the same either way.

Stdlib only (json, os, sys): routed commands import this and the host client, never the core.
`--json` output is one JSON document on stdout; messages for people go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


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
    if command in ("list", "skills"):
        return command, {}
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
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


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
    rows = [("PLUGIN", "NAME", "STATE")] + [(s["plugin"], s["name"], s["state"]) for s in services]
    widths = [max(len(r[c]) for r in rows) for c in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


_PRESENTERS: dict[str, Callable[[argparse.Namespace, Any], int]] = {
    "list": _list, "show": _show, "enable": _toggle, "disable": _toggle, "grant": _grant, "revoke": _revoke,
    "call": _call, "fire": _fire, "skills": _skills, "install": _install, "uninstall": _uninstall, "mcp": _mcp,
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
    print(f"http:    {status['http'] or 'off'}")
    print(f"clients: {len(clients)} connected" + (f": {names}" if names else ""))
    return 0
