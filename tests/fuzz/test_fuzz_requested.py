"""The review covers everything a manifest can make the app do (issue 13, finding 1), as a property.

For any manifest, in any format: if loading it would ever start a process or load code — a Node.js
plugin, a WASM module, a command hook, an MCP server with a command — then `show` lists a permission
that waits for approval, and the plugin does not run until it is granted. If it names a remote MCP
server, the host it reaches is among the permissions asked for.

"Would start a process or load code" is taken from the code that does it, not from the scope code:
the loader's choice of runtime (`runtime_class`: any runtime runs the plugin's code) and what `mcp.py`
does with a server's config (`expand_server`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import rtoml
from fuzzkit import Scratch, _capability_doc, aleph_documents, counted, fuzz_settings, model_values, odd_text
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.discovery import load_one
from aleph_gui.core.loader import runtime_class
from aleph_gui.core.manifest.model import Capability, PluginManifest
from aleph_gui.core.mcp import expand_server
from aleph_gui.core.scope import Scope
from aleph_gui.core.slot import PluginSlot


def runs_code(manifest: PluginManifest) -> bool:
    if runtime_class(manifest) is not None:  # its own code: a WASM module, a node process, a command
        return True
    for cap in manifest.of_type("mcp_server"):
        config, _ = expand_server(cap.details, env={}, plugin_root=Path("/plugin"))
        if config["type"] == "stdio" and config.get("command"):
            return True
    return False


def remote_servers(manifest: PluginManifest) -> list[str]:
    urls = []
    for cap in manifest.of_type("mcp_server"):
        config, _ = expand_server(cap.details, env={}, plugin_root=Path("/plugin"))
        if config["type"] in ("http", "sse") and config.get("url"):
            urls.append(config["url"])
    return urls


def check_reviewed(folder: Path) -> None:
    found = load_one(folder, "user")
    manifest = found.manifest
    if manifest is None or not found.valid:
        return
    slot = PluginSlot(found)  # a fresh home: nothing granted, never toggled
    slot.settle(safe_mode=False)
    info = slot.info()
    waiting = [r.key for r in info.permissions if r.waiting]
    if runs_code(manifest):
        assert info.state == "needs_review" and not info.runnable, (info.state, manifest.scope)
        assert any(key != "api:log" for key in waiting), (manifest.kind, manifest.capabilities, waiting)
    if remote_servers(manifest):
        assert any(key.startswith("net:") for key in waiting), (remote_servers(manifest), waiting)
    if manifest.kind == "nodejs":
        assert "process:nodejs" in waiting
    if manifest.kind == "wasm":
        assert "code:wasm" in waiting


# -- manifests that make the app do things ------------------------------------------------------

commands = st.one_of(st.sampled_from(["touch /tmp/x", "sh", "", " ", "${CLAUDE_PLUGIN_ROOT}/run.sh", "node"]),
                     odd_text)
urls = st.one_of(st.sampled_from(["https://mcp.example.com/x", "http://127.0.0.1:9/", "https://${HOST}/mcp",
                                  "http://[::1", "mcp.example.com", "", "https://user@h.example:8/p"]), odd_text)


@st.composite
def server_configs(draw: st.DrawFn) -> dict[str, Any]:
    config: dict[str, Any] = {}
    kind = draw(st.sampled_from([None, "stdio", "http", "sse", "streamable-http", "weird"]))
    if kind is not None:
        config[draw(st.sampled_from(["type", "transport"]))] = kind
    if draw(st.booleans()):
        config["command"] = draw(commands)
    if draw(st.booleans()):
        config["args"] = draw(st.lists(st.text(max_size=6), max_size=3))
    if draw(st.booleans()):
        config["url"] = draw(urls)
    return config


@st.composite
def capabilities(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["tool", "hook", "command_hook", "command_detail", "mcp", "service", "schema"]))
    if shape == "tool":
        return {"type": "tool", "name": draw(st.from_regex(r"\A[a-z]{1,8}\Z"))}
    if shape == "hook":
        return {"type": "hook", "event": draw(st.sampled_from(["PreToolUse", "message_received", "nope"]))}
    if shape == "command_hook":
        details: dict[str, Any] = {"hook_type": "command"}
        if draw(st.booleans()):
            details["command"] = draw(commands)
        return {"type": "hook", "event": "PreToolUse", "details": details}
    if shape == "command_detail":
        return {"type": "hook", "event": "PreToolUse", "details": {"command": draw(commands)}}
    if shape == "mcp":
        return {"type": "mcp_server", "name": draw(st.from_regex(r"\A[a-z]{1,8}\Z")), "details": draw(server_configs())}
    if shape == "service":
        return {"type": "service", "name": "svc", "start_handler": "start"}
    return _capability_doc(draw(model_values(Capability)))  # any shape the schema allows


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    plugin: dict[str, Any] = {"id": "probe", "name": "Probe", "version": "1.0.0"}
    kind = draw(st.sampled_from([None, "wasm", "nodejs", "static", "claude", "mcp"]))
    if kind is not None:
        plugin["kind"] = kind
    entry = draw(st.sampled_from([None, "index.js", "plugin.wasm", "main.mjs", "plugin.wat"]))
    if entry is not None:
        plugin["entry"] = entry
    doc: dict[str, Any] = {"plugin": plugin, "capabilities": draw(st.lists(capabilities(), max_size=4))}
    if draw(st.booleans()):
        doc["scope"] = draw(model_values(Scope))
    return doc


def _write_entry_files(folder: Path) -> None:
    for name in ("index.js", "main.mjs", "plugin.wasm", "plugin.wat"):
        (folder / name).write_text("// probe\n" if name.endswith(("js", "mjs")) else "(module)\n")


def _claude_plugin(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same hooks and servers written the Claude Code way: plugin.json, hooks.json, .mcp.json."""
    hooks: dict[str, list[Any]] = {}
    servers: dict[str, Any] = {}
    for index, cap in enumerate(doc["capabilities"]):
        details = cap.get("details") if isinstance(cap.get("details"), dict) else {}
        if cap["type"] == "hook" and "command" in details:
            hooks.setdefault("PreToolUse", []).append({"matcher": "", "hooks": [
                {"type": "command", "command": details["command"]}]})
        elif cap["type"] == "mcp_server":
            servers[f"{cap.get('name', 'srv')}{index}"] = details
    return {".claude-plugin/plugin.json": {"name": "probe", "version": "1.0.0"},
            "hooks/hooks.json": {"hooks": hooks}, ".mcp.json": {"mcpServers": servers}}


def write_format(folder: Path, fmt: str, doc: dict[str, Any]) -> None:
    _write_entry_files(folder)
    if fmt == "aleph-toml":
        try:
            (folder / "aleph.plugin.toml").write_text(rtoml.dumps(doc))
        except Exception:  # noqa: BLE001 - what TOML cannot hold is written as JSON instead
            (folder / "aleph.plugin.json").write_text(json.dumps(doc))
    elif fmt == "aleph-json":
        (folder / "aleph.plugin.json").write_text(json.dumps(doc))
    elif fmt == "package-json":
        plugin = doc["plugin"]
        aleph = {**{k: v for k, v in plugin.items() if k in ("kind", "entry")},
                 **{k: v for k, v in doc.items() if k != "plugin"}}
        (folder / "package.json").write_text(json.dumps({"name": "probe", "version": "1.0.0", "aleph": aleph}))
    else:
        for rel, content in _claude_plugin(doc).items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(json.dumps(content))


def test_whatever_runs_code_is_reviewed_first(tmp_path: Path, fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(fmt=st.sampled_from(["aleph-toml", "aleph-json", "package-json", "claude"]), doc=documents())
    @counted("requested-scope")
    def check(fmt: str, doc: dict[str, Any]) -> None:
        with Scratch(tmp_path / "cases") as folder:
            write_format(folder, fmt, doc)
            check_reviewed(folder)

    check()


def test_hostile_manifests_that_start_a_process_are_reviewed_first(tmp_path: Path, fuzz_cases: int) -> None:
    """The schema-shaped, mutated documents of the other fuzz targets: the same property."""

    @fuzz_settings(fuzz_cases)
    @given(doc=aleph_documents(), as_toml=st.booleans())
    @counted("requested-scope-hostile")
    def check(doc: Any, as_toml: bool) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write_entry_files(folder)
            try:
                text, name = (rtoml.dumps(doc), "aleph.plugin.toml") if as_toml else (json.dumps(doc), "plugin.json")
            except Exception:  # noqa: BLE001 - rtoml refuses many hostile documents in many ways
                text, name = json.dumps(doc), "plugin.json"
            (folder / name).write_text(text, encoding="utf-8", errors="surrogatepass")
            check_reviewed(folder)

    check()
