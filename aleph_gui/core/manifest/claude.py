"""Claude Code plugin formats: `.claude-plugin/plugin.json`, manifest-less layouts and `.mcp.json`.

Everything parses into the one `PluginManifest`. Skills, commands and agents become capabilities
named `plugin:name`; each command hook in `hooks.json` becomes a `hook` capability; each MCP
server an `mcp_server` capability. Command hooks and stdio MCP servers run programs as the user,
so such a plugin requests `shell=True` and needs review.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import ValidationError

from aleph_gui.core.hooks import canonical_event
from aleph_gui.core.manifest.ids import sanitize_id
from aleph_gui.core.manifest.model import Capability, ParseResult, PluginManifest
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.problems import Problem, error, has_errors, warning
from aleph_gui.core.scope import NetworkAccess, Scope
from aleph_gui.core.skills import KINDS, scan_folder

log = logging.getLogger(__name__)

CLAUDE_MANIFESTS = (".claude-plugin/plugin.json", "cc-plugin.json", "claude-plugin/plugin.json")
HOOKS_FILE = "hooks/hooks.json"
MCP_FILE = ".mcp.json"
DEFAULT_DIRS = {"skill": "skills", "command": "commands", "agent": "agents"}
MANIFEST_KEY = {"skill": "skills", "command": "commands", "agent": "agents"}
CLAUDE_DEFAULT_HOOK_TIMEOUT_S = 60  # Claude Code's default for command hooks
MAX_HOOK_TIMEOUT_S = 3600  # a hook holds up its event; an hour is already more than anyone waits
MAX_JSON_BYTES = 4 * 1024 * 1024
KNOWN_PLUGIN_KEYS = frozenset({
    "$schema", "name", "version", "description", "author", "homepage", "repository", "license", "keywords",
    "commands", "agents", "skills", "hooks", "mcpServers", "outputStyles", "lspServers", "displayName",
    "category", "tags", "strict", "source", "contributors", "engines", "dependencies",
})
HOOK_TYPES_NOT_RUN = ("prompt", "agent")


# -- small readers -----------------------------------------------------------------------------

def _read_json(path: Path, label: str) -> tuple[Any, Problem | None]:
    try:
        if path.stat().st_size > MAX_JSON_BYTES:
            return None, error(label, "", f"is larger than {MAX_JSON_BYTES // (1024 * 1024)} MB")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        return None, error(label, "", f"cannot be read: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return None, error(label, "", "is not UTF-8 text")
    return _loads(text, label)


def _loads(text: str, label: str) -> tuple[Any, Problem | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, error(label, f"line {exc.lineno}", f"is not valid JSON: {exc.msg}")
    except RecursionError:  # a hostile file nested thousands deep must not take discovery down
        return None, error(label, "", "is not valid JSON: nested too deeply")


def _path_list(value: Any, key: str, label: str, problems: list[Problem]) -> list[str] | None:
    """A component path given as a string or a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    problems.append(error(label, key, "expected a path or a list of paths relative to the plugin folder"))
    return None


def _safe_paths(folder: Path, paths: list[str], key: str, label: str, problems: list[Problem]) -> list[str]:
    ok: list[str] = []
    for rel in paths:
        reason = path_escape_reason(folder, rel)
        if reason:
            problems.append(error(label, key, f"{reason}; component paths must stay inside the plugin"))
        else:
            ok.append(rel.removeprefix("./").rstrip("/") or ".")
    return ok


# -- hooks.json ----------------------------------------------------------------------------------

def _hook_capabilities(events: dict[str, Any], file: str, problems: list[Problem]) -> list[Capability]:
    caps: list[Capability] = []
    for event_name, groups in events.items():
        field = f"hooks.{event_name}"
        canonical = canonical_event(event_name)
        if canonical is None:
            problems.append(warning(file, field, f"unknown hook event '{event_name}'; its hooks are ignored"))
            continue
        if not isinstance(groups, list):
            problems.append(error(file, field, "expected a list of {matcher, hooks: [...]} groups"))
            continue
        for gi, group in enumerate(groups):
            gfield = f"{field}[{gi}]"
            if not isinstance(group, dict):
                problems.append(error(file, gfield, "expected an object {matcher, hooks: [...]}"))
                continue
            matcher = group.get("matcher", "")
            if not isinstance(matcher, str):
                problems.append(error(file, f"{gfield}.matcher", "expected a string"))
                continue
            entries = group.get("hooks")
            if not isinstance(entries, list):
                problems.append(error(file, f"{gfield}.hooks", "expected a list of hooks ({type, command, timeout})"))
                continue
            for hi, hook in enumerate(entries):
                cap = _one_hook(hook, f"{gfield}.hooks[{hi}]", file, event_name, canonical, matcher, problems)
                if cap is not None:
                    caps.append(cap)
    return caps


def _one_hook(hook: Any, field: str, file: str, event_name: str, canonical: str, matcher: str,
              problems: list[Problem]) -> Capability | None:
    if not isinstance(hook, dict):
        problems.append(error(file, field, "expected an object {type, command, timeout}"))
        return None
    hook_type = hook.get("type", "command")
    timeout = hook.get("timeout", CLAUDE_DEFAULT_HOOK_TIMEOUT_S)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or timeout <= 0:
        problems.append(warning(file, f"{field}.timeout", f"expected a positive number of seconds; "
                                                          f"using {CLAUDE_DEFAULT_HOOK_TIMEOUT_S}"))
        timeout = CLAUDE_DEFAULT_HOOK_TIMEOUT_S
    if timeout > MAX_HOOK_TIMEOUT_S:
        problems.append(warning(file, f"{field}.timeout", f"{timeout:g} s is longer than the {MAX_HOOK_TIMEOUT_S} s "
                                                          "this app allows; using that"))
        timeout = MAX_HOOK_TIMEOUT_S
    extra = {k: v for k, v in hook.items() if k not in ("type", "command", "timeout")}
    handler = f"{file}:{field.removeprefix('hooks.')}"
    if hook_type == "command":
        command = hook.get("command")
        if not isinstance(command, str) or not command.strip():
            problems.append(error(file, f"{field}.command", "a command hook needs a 'command' string"))
            return None
        details = {"hook_type": "command", "command": command, "claude_event": event_name, **extra}
        description = f"runs: {command if len(command) < 120 else command[:117] + '...'}"
    elif hook_type in HOOK_TYPES_NOT_RUN:
        details = {"hook_type": hook_type, "claude_event": event_name, "not_run": True, **extra}
        description = f"{hook_type} hook — not run by this app"
    else:
        problems.append(warning(file, f"{field}.type", f"unknown hook type {hook_type!r}; expected command, "
                                                       "prompt or agent; it is ignored"))
        return None
    return Capability(type="hook", event=canonical, matcher=matcher, handler=handler, description=description,
                      details=details, timeout_ms=int(timeout * 1000))


def parse_hooks_json(text: str, file: str) -> tuple[list[Capability], list[Problem]]:
    """`{"hooks": {Event: [{matcher, hooks: [{type, command, timeout}]}]}}` -> hook capabilities."""
    problems: list[Problem] = []
    data, problem = _loads(text, file)
    if problem:
        return [], [problem]
    return parse_hooks_object(data, file, problems, wrapped=True), problems


def parse_hooks_object(data: Any, file: str, problems: list[Problem], *, wrapped: bool) -> list[Capability]:
    """A parsed hooks config. `wrapped=False` (inline in plugin.json) also accepts a bare event map."""
    if not isinstance(data, dict):
        problems.append(error(file, "", f"expected an object {{\"hooks\": {{EventName: [...]}}}}, "
                                        f"found a JSON {_json_kind(data)}"))
        return []
    if "hooks" not in data:
        if not wrapped and all(isinstance(k, str) for k in data):
            return _hook_capabilities(data, file, problems)
        looks_bare = any(canonical_event(k) for k in data)
        hint = ("this looks like a bare event map: wrap it as {\"hooks\": {...}}" if looks_bare
                else "expected a top-level \"hooks\" object mapping event names to hook groups")
        problems.append(error(file, "hooks", hint))
        return []
    events = data["hooks"]
    if not isinstance(events, dict):
        problems.append(error(file, "hooks", f"expected an object mapping event names to hook groups, "
                                             f"found a JSON {_json_kind(events)}"))
        return []
    return _hook_capabilities(events, file, problems)


def _json_kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


# -- .mcp.json ------------------------------------------------------------------------------------

def server_transport(config: dict[str, Any]) -> str:
    """stdio | http | sse (Claude's `streamable-http` counts as http)."""
    kind = str(config.get("type") or config.get("transport") or "").lower()
    if kind in ("sse",):
        return "sse"
    if kind in ("http", "streamable-http", "streamable_http"):
        return "http"
    if kind == "stdio" or "command" in config:
        return "stdio"
    return "http" if "url" in config else kind or "unknown"


def _server_capability(name: str, config: Any, file: str, problems: list[Problem]) -> Capability | None:
    field = f"mcpServers.{name}"
    if not isinstance(config, dict):
        problems.append(warning(file, field, f"is a {_json_kind(config)}, not a server object; it is skipped"))
        return None
    transport = server_transport(config)
    if transport == "stdio":
        if not isinstance(config.get("command"), str) or not config["command"].strip():
            problems.append(error(file, f"{field}.command", "a stdio server needs a 'command' string"))
            return None
        args = config.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, (str, int, float)) for a in args):
            problems.append(error(file, f"{field}.args", "expected a list of strings"))
            return None
        desc = f"stdio: {config['command']} {' '.join(str(a) for a in args)}".strip()
    elif transport in ("http", "sse"):
        url = config.get("url")
        if not isinstance(url, str):
            problems.append(error(file, f"{field}.url", f"an {transport} server needs a 'url' string"))
            return None
        if not url.strip():
            problems.append(warning(file, f"{field}.url", "is empty; this server cannot be reached until it is set"))
        desc = f"{transport}: {url}"
    else:
        problems.append(error(file, field, f"unknown server type {config.get('type')!r}; expected stdio, http "
                                           "or sse"))
        return None
    for key in ("env", "headers"):
        if key in config and not (isinstance(config[key], dict)
                                  and all(isinstance(v, (str, int, float)) for v in config[key].values())):
            problems.append(error(file, f"{field}.{key}", "expected an object of string values"))
            return None
    details = dict(config)
    details.setdefault("type", transport)
    return Capability(type="mcp_server", name=name, description=desc, details=details)


def parse_mcp_object(data: Any, file: str, problems: list[Problem]) -> list[Capability]:
    """`{"mcpServers": {...}}` or a flat server map. Non-object entries (`_comment`) are skipped."""
    if not isinstance(data, dict):
        problems.append(error(file, "", f"expected an object {{\"mcpServers\": {{...}}}}, found a JSON "
                                        f"{_json_kind(data)}"))
        return []
    wrapped = "mcpServers" in data
    servers = data["mcpServers"] if wrapped else data
    if not isinstance(servers, dict):
        problems.append(error(file, "mcpServers", "expected an object mapping server names to servers"))
        return []
    caps: list[Capability] = []
    for name, config in servers.items():
        cap = _server_capability(str(name), config, file, problems)
        if cap is not None:
            caps.append(cap)
    for key in (k for k in data if k != "mcpServers") if wrapped else ():
        problems.append(warning(file, key, "unknown key next to 'mcpServers'; it is ignored"))
    return caps


def parse_mcp_json(text: str, file: str) -> tuple[list[Capability], list[Problem]]:
    problems: list[Problem] = []
    data, problem = _loads(text, file)
    if problem:
        return [], [problem]
    return parse_mcp_object(data, file, problems), problems


# -- scope ------------------------------------------------------------------------------------------

def claude_scope(caps: list[Capability]) -> Scope:
    """Command hooks and stdio servers run programs as the user; remote servers reach their host."""
    shell = any(c.type == "hook" and c.details.get("hook_type") == "command" for c in caps)
    hosts: set[str] = set()
    any_host = False
    for c in caps:
        if c.type != "mcp_server":
            continue
        if server_transport(c.details) == "stdio":
            shell = True
            continue
        url = str(c.details.get("url") or "")
        host = urlparse(url).hostname
        if url and (not host or "$" in host):  # host only known at run time: say so
            any_host = True
        elif host:
            hosts.add(host)
    network = (NetworkAccess(mode="any") if any_host else
               NetworkAccess(mode="allow", hosts=sorted(hosts)) if hosts else NetworkAccess())
    return Scope(shell=shell, network_access=network)


# -- components -----------------------------------------------------------------------------------

def _components(folder: Path, plugin_id: str, extra_dirs: dict[str, list[str]],
                problems: list[Problem]) -> list[Capability]:
    """Skills/commands/agents from the default folders plus any custom paths (they add, not replace)."""
    caps: list[Capability] = []
    for kind in KINDS:
        dirs = [DEFAULT_DIRS[kind]] + [d for d in extra_dirs.get(kind, []) if d != DEFAULT_DIRS[kind]]
        seen: set[Path] = set()
        for rel in dict.fromkeys(dirs):
            if rel == DEFAULT_DIRS[kind] and (reason := path_escape_reason(folder, rel)):
                problems.append(error(folder.name, rel, f"{reason}; its {kind}s are not loaded"))
                continue
            for entry in scan_folder(kind, folder / rel, namespace=plugin_id, source=plugin_id, base=folder):
                if entry.path in seen:
                    continue
                seen.add(entry.path)
                problems.extend(p if p.severity == "warning" else p.model_copy(update={"severity": "warning"})
                                for p in entry.problems)
                if entry.usable:
                    caps.append(Capability(type=kind, name=entry.name, description=entry.description,  # type: ignore[arg-type]
                                           details={"path": entry.path.relative_to(folder).as_posix()}))
    return caps


def _hooks_from_file(folder: Path, rel: str, problems: list[Problem], *, required: bool) -> list[Capability]:
    path = folder / rel
    if not path.is_file():
        if required:
            problems.append(error(rel, "", "the hooks file named in the manifest does not exist"))
        return []
    data, problem = _read_json(path, rel)
    if problem:
        problems.append(problem)
        return []
    return parse_hooks_object(data, rel, problems, wrapped=True)


def _mcp_from_file(folder: Path, rel: str, problems: list[Problem], *, required: bool) -> list[Capability]:
    path = folder / rel
    if not path.is_file():
        if required:
            problems.append(error(rel, "", "the MCP servers file named in the manifest does not exist"))
        return []
    data, problem = _read_json(path, rel)
    if problem:
        problems.append(problem)
        return []
    return parse_mcp_object(data, rel, problems)


def _build(folder: Path, *, plugin_id: str, name: str, fmt: str, manifest_file: str, kind: str,
           caps: list[Capability], problems: list[Problem], **fields: Any) -> ParseResult:
    try:
        manifest = PluginManifest(id=plugin_id, name=name, format=fmt, manifest_file=manifest_file,  # type: ignore[arg-type]
                                  kind=kind, capabilities=caps, scope=claude_scope(caps), **fields)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        problems.append(error(manifest_file, ".".join(str(p) for p in first["loc"]), first["msg"]))
        manifest = None
    return ParseResult(manifest=manifest, problems=problems, format=fmt, manifest_file=manifest_file,  # type: ignore[arg-type]
                       fallback_id=plugin_id)


def _folder_id(folder: Path) -> str:
    return sanitize_id(folder.name) or "plugin"


# -- the three entry points --------------------------------------------------------------------------

def parse_claude_plugin(folder: Path, manifest_file: str) -> ParseResult:
    """A Claude Code plugin: `.claude-plugin/plugin.json`, `cc-plugin.json` or `claude-plugin/plugin.json`."""
    problems: list[Problem] = []
    label = manifest_file
    data, problem = _read_json(folder / manifest_file, label)
    fallback = _folder_id(folder)
    if problem:
        return ParseResult(problems=[problem], format="claude", manifest_file=manifest_file, fallback_id=fallback)
    if not isinstance(data, dict):
        return ParseResult(problems=[error(label, "", f"expected a JSON object, found a JSON {_json_kind(data)}")],
                           format="claude", manifest_file=manifest_file, fallback_id=fallback)
    raw_name = data.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        problems.append(error(label, "name", "is required: the plugin's name (used as its id)"))
        plugin_id, name = fallback, folder.name
    else:
        plugin_id, name = sanitize_id(raw_name), raw_name.strip()
        if not plugin_id:
            problems.append(error(label, "name", f"'{raw_name}' has no letters to make an id from"))
            plugin_id = fallback
        elif plugin_id != raw_name:
            problems.append(warning(label, "name", f"'{raw_name}' is used as the id '{plugin_id}'"))
    for key in data:
        if key not in KNOWN_PLUGIN_KEYS:
            problems.append(warning(label, key, "unknown key; it is ignored"))
    version = data.get("version")
    if version is not None and not isinstance(version, str):
        problems.append(warning(label, "version", "expected a string; using 0.0.0"))
        version = None
    author = data.get("author", "")
    if isinstance(author, dict):
        author = str(author.get("name", ""))
    description = data.get("description", "")

    extra_dirs: dict[str, list[str]] = {}
    for kind in KINDS:
        key = MANIFEST_KEY[kind]
        if key in data:
            paths = _path_list(data[key], key, label, problems)
            if paths is not None:
                extra_dirs[kind] = _safe_paths(folder, paths, key, label, problems)
    caps = _components(folder, plugin_id, extra_dirs, problems)

    hook_files = [HOOKS_FILE]
    if "hooks" in data:
        if isinstance(data["hooks"], dict):
            caps.extend(parse_hooks_object(data["hooks"], label, problems, wrapped=False))
        else:
            paths = _path_list(data["hooks"], "hooks", label, problems)
            hook_files += _safe_paths(folder, paths or [], "hooks", label, problems)
    for i, rel in enumerate(dict.fromkeys(hook_files)):
        caps.extend(_hooks_from_file(folder, rel, problems, required=i > 0))

    mcp_files = [MCP_FILE]
    if "mcpServers" in data:
        if isinstance(data["mcpServers"], dict):
            caps.extend(parse_mcp_object({"mcpServers": data["mcpServers"]}, label, problems))
        else:
            paths = _path_list(data["mcpServers"], "mcpServers", label, problems)
            mcp_files += _safe_paths(folder, paths or [], "mcpServers", label, problems)
    for i, rel in enumerate(dict.fromkeys(mcp_files)):
        caps.extend(_mcp_from_file(folder, rel, problems, required=i > 0))

    return _build(folder, plugin_id=plugin_id, name=name, fmt="claude", manifest_file=manifest_file,
                  kind="claude", caps=caps, problems=problems, version=version or "0.0.0",
                  description=description if isinstance(description, str) else "",
                  author=author if isinstance(author, str) else "",
                  homepage=data.get("homepage") if isinstance(data.get("homepage"), str) else "")


def looks_like_claude_layout(folder: Path) -> bool:
    """Cheap check: a folder with skills/, commands/, agents/ or hooks/hooks.json and no manifest."""
    return any((folder / d).is_dir() for d in DEFAULT_DIRS.values()) or (folder / HOOKS_FILE).is_file()


def parse_claude_layout(folder: Path) -> ParseResult:
    """A Claude-style folder with no manifest: id and name from the folder."""
    problems: list[Problem] = []
    plugin_id = _folder_id(folder)
    caps = _components(folder, plugin_id, {}, problems)
    caps.extend(_hooks_from_file(folder, HOOKS_FILE, problems, required=False))
    caps.extend(_mcp_from_file(folder, MCP_FILE, problems, required=False))
    if not caps and not has_errors(problems):
        problems.append(warning(folder.name, "", "has skills/, commands/ or agents/ folders but nothing usable "
                                                 "in them"))
    return _build(folder, plugin_id=plugin_id, name=folder.name, fmt="claude-layout", manifest_file="",
                  kind="claude", caps=caps, problems=problems)


def parse_mcp_only(folder: Path) -> ParseResult:
    """A folder holding only `.mcp.json`: each server is an `mcp_server` capability."""
    problems: list[Problem] = []
    plugin_id = _folder_id(folder)
    caps = _mcp_from_file(folder, MCP_FILE, problems, required=True)
    if not caps and not has_errors(problems):
        problems.append(warning(MCP_FILE, "mcpServers", "declares no servers"))
    return _build(folder, plugin_id=plugin_id, name=folder.name, fmt="mcp-json", manifest_file=MCP_FILE,
                  kind="mcp", caps=caps, problems=problems)
