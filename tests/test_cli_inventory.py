"""`aleph-ext` inventory commands, run as a user runs them: a real subprocess against a tmp home — each test
both with no host and through a running `aleph-ext serve` (the `aleph_ext` fixture), same output either way."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aleph_gui.cli import main
from aleph_gui.core.sandbox import sandbox_status

Run = Callable[..., subprocess.CompletedProcess]

QUIET = '[plugin]\nid = "quiet"\nname = "Quiet One"\nversion = "1.0.0"\n[[tools]]\nname = "hush"\n'
NODE = ('[plugin]\nid = "net-tool"\nname = "Net Tool"\nversion = "0.2.0"\nkind = "nodejs"\nentry = "index.js"\n'
        '[permissions]\nnetwork = true\nfilesystem = { mode = "read", paths = ["/usr/share"] }\n'
        '[[tools]]\nname = "fetch"\nhandler = "fetch"\n')


@pytest.fixture
def plugins(make_plugin: Callable[..., Path]) -> None:
    make_plugin("quiet", {"plugin.toml": QUIET})
    make_plugin("net-tool", {"aleph.plugin.toml": NODE, "index.js": "// server"})
    make_plugin("broken", {"plugin.toml": '[plugin]\nid = "Broken_Id"\nversion = "1.0.0"\n'})


def by_id(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    assert proc.returncode == 0, proc.stderr
    return {p["id"]: p for p in json.loads(proc.stdout)}


def test_list_json_entries(plugins: None, aleph_ext: Run, home: Path) -> None:
    listed = by_id(aleph_ext("list", "--json"))
    assert set(listed) == {"quiet", "net-tool", "Broken_Id"}
    quiet, net, broken = listed["quiet"], listed["net-tool"], listed["Broken_Id"]
    assert (quiet["state"], quiet["format"], quiet["kind"], quiet["origin"]) == (
        "enabled", "aleph-toml", "static", "user")
    # A host runs the plugins, so its entries also say where each capability came from ("source").
    assert [{k: c[k] for k in ("type", "name", "description")} for c in quiet["capabilities"]] == [
        {"type": "tool", "name": "hush", "description": ""}]
    assert quiet["path"] == str(home / "plugins" / "quiet")
    assert net["state"] == "needs_review" and net["scope"]["granted"] is None
    assert net["scope"]["requested"]["network_access"]["mode"] == "any"
    assert broken["state"] == "invalid"
    assert broken["problems"][0]["field"] == "[plugin].id"


def test_list_table_for_people(plugins: None, aleph_ext: Run) -> None:
    proc = aleph_ext("list")
    assert proc.returncode == 0
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "VERSION", "KIND", "FORMAT", "ORIGIN", "STATE", "PROBLEMS"]
    state_col = header.index("STATE")
    states = {row.split()[0]: row[state_col:].split()[0] for row in rows}
    assert states == {"Broken_Id": "invalid", "net-tool": "needs_review", "quiet": "enabled"}


def test_empty_home_says_where_it_looked(aleph_ext: Run, home: Path) -> None:
    proc = aleph_ext("list")
    assert proc.returncode == 0 and proc.stdout == ""
    assert "no plugins found" in proc.stderr and str(home / "plugins") in proc.stderr
    assert json.loads(aleph_ext("list", "--json").stdout) == []


def test_grant_then_revoke_changes_the_state(plugins: None, aleph_ext: Run) -> None:
    granted = aleph_ext("grant", "net-tool")
    assert granted.returncode == 0 and "connect to any host on the internet" in granted.stderr
    net = by_id(aleph_ext("list", "--json"))["net-tool"]
    assert net["state"] == "enabled"
    assert net["scope"]["granted"] == net["scope"]["requested"]
    assert aleph_ext("revoke", "net-tool").returncode == 0
    assert by_id(aleph_ext("list", "--json"))["net-tool"]["state"] == "needs_review"


def test_enable_disable_persist(plugins: None, aleph_ext: Run) -> None:
    assert aleph_ext("disable", "quiet").returncode == 0
    assert by_id(aleph_ext("list", "--json"))["quiet"]["state"] == "disabled"
    assert aleph_ext("enable", "quiet").returncode == 0
    assert by_id(aleph_ext("list", "--json"))["quiet"]["state"] == "enabled"


@pytest.mark.parametrize("command", ["show", "enable", "disable", "grant", "revoke"])
def test_unknown_id_exits_1(aleph_ext: Run, command: str) -> None:
    proc = aleph_ext(command, "ghost")
    assert proc.returncode == 1 and "unknown plugin 'ghost'" in proc.stderr and "Traceback" not in proc.stderr


def test_grant_of_an_unreadable_plugin_fails(make_plugin: Callable[..., Path], aleph_ext: Run) -> None:
    make_plugin("mangled", {"plugin.toml": "[plugin\n"})
    proc = aleph_ext("grant", "mangled")
    assert proc.returncode == 1 and "could not be read" in proc.stderr


def test_show_in_plain_language(plugins: None, aleph_ext: Run) -> None:
    proc = aleph_ext("show", "net-tool")
    assert proc.returncode == 0
    out = proc.stdout
    assert "state:   needs_review" in out
    if sandbox_status().available:  # what the OS sandbox holds, and what no sandbox can be given
        assert "connect to any host on the internet — sandboxed (bubblewrap): its own network namespace" in out
        assert "read files in /usr/share — sandboxed (bubblewrap): only the granted folders are visible" in out
    else:  # never claimed where nothing holds it
        assert "connect to any host on the internet — not sandboxed on this system" in out
        assert "read files in /usr/share — not sandboxed on this system" in out
    assert "granted: nothing yet" in out
    doc = json.loads(aleph_ext("show", "net-tool", "--json").stdout)
    assert doc["scope"]["enforcement"]["net:*"].startswith(
        "sandboxed (bubblewrap)" if sandbox_status().available else "not sandboxed on this system")
    assert doc["manifest"]["entry"] == "index.js"


def test_show_says_what_it_overrides(make_plugin: Callable[..., Path], aleph_ext: Run) -> None:
    make_plugin("quiet", {"plugin.toml": QUIET}, origin="user")
    project_copy = make_plugin("quiet", {"plugin.toml": QUIET}, origin="project")
    proc = aleph_ext("show", "quiet")
    assert f"origin:  project — {project_copy}" in proc.stdout
    assert "overrides the user plugin at" in proc.stdout
    doc = json.loads(aleph_ext("show", "quiet", "--json").stdout)
    assert doc["origin"] == "project" and doc["overrides"][0]["origin"] == "user"
    assert by_id(aleph_ext("list", "--json"))  # list shows both; the user one as overridden
    states = {(p["origin"], p["state"]) for p in json.loads(aleph_ext("list", "--json").stdout)}
    assert states == {("project", "needs_review"), ("user", "overridden")}  # until the project is trusted


def test_conflicting_tool_names_show_on_both(make_plugin: Callable[..., Path], aleph_ext: Run) -> None:
    make_plugin("a", {"plugin.toml": '[plugin]\nid = "a"\nversion = "1.0.0"\n[[tools]]\nname = "search"\n'})
    make_plugin("b", {"plugin.toml": '[plugin]\nid = "b"\nversion = "1.0.0"\n[[tools]]\nname = "search"\n'})
    listed = by_id(aleph_ext("list", "--json"))
    sentence = "tool 'search' is provided by both 'a' and 'b'; 'a' keeps the name"
    assert listed["a"]["conflicts"] == [sentence] == listed["b"]["conflicts"]


def test_validate_folder_and_file(make_plugin: Callable[..., Path], aleph_ext: Run) -> None:
    good = make_plugin("quiet", {"plugin.toml": QUIET})
    bad = make_plugin("bad", {"plugin.toml": '[plugin]\nid = "bad"\nversion = "1.0.0"\nkind = "wasm"\n'})
    ok = aleph_ext("validate", str(good), routed=False)
    assert ok.returncode == 0 and "valid: quiet (aleph-toml, plugin.toml)" in ok.stderr
    failed = aleph_ext("validate", str(bad / "plugin.toml"), routed=False)
    assert failed.returncode == 1
    assert "error: plugin.toml: [plugin].entry — entry 'plugin.wasm' does not exist" in failed.stderr
    doc = json.loads(aleph_ext("validate", str(bad), "--json", routed=False).stdout)
    assert doc["valid"] is False and doc["problems"][0]["field"] == "[plugin].entry"
    missing = aleph_ext("validate", str(good / "nope.toml"), routed=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_runtime_commands_are_parsed_and_handed_on(home: Path, project: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands that run plugins reach cli_runtime.run with their documented arguments."""
    import argparse
    import importlib

    try:
        cli_runtime = importlib.import_module("aleph_gui.cli_runtime")
    except ModuleNotFoundError:
        pytest.skip("cli_runtime has not landed")
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(cli_runtime, "run", lambda args: seen.append(args) or 7)
    base = ["--home", str(home), "--project", str(project)]
    assert main([*base, "call", "p", "t", "--input", '{"a": 1}']) == 7
    assert main([*base, "mcp", "tools", "p", "srv"]) == 7
    assert main([*base, "service", "stop", "p", "worker"]) == 7
    assert main(["init", "new-one", "--kind", "wasm", "--dir", str(project), *base]) == 7
    call, mcp, service, init = seen
    assert (call.command, call.id, call.tool, call.input) == ("call", "p", "t", '{"a": 1}')
    assert (mcp.mcp_command, mcp.id, mcp.server) == ("tools", "p", "srv")
    assert (service.service_action, service.id, service.name) == ("stop", "p", "worker")
    assert (init.name, init.kind, init.dir, init.home) == ("new-one", "wasm", str(project), str(home))


def test_global_options_work_after_the_command(plugins: None, home: Path, project: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", "--home", str(home), "--project", str(project), "--no-builtin"]) == 0
    assert {p["id"] for p in json.loads(capsys.readouterr().out)} == {"quiet", "net-tool", "Broken_Id"}


def test_safe_mode_flag(plugins: None, aleph_ext: Run) -> None:
    # A host that is not in safe mode does not answer for a safe-mode command: it runs in-process.
    listed = by_id(aleph_ext("--safe-mode", "list", "--json", routed=False))
    assert listed["quiet"]["state"] == "disabled"
    assert listed["quiet"]["state_reason"] == "safe mode: only builtin plugins run"


def test_inventory_commands_load_no_gui_and_no_sandbox(plugins: None, home: Path, project: Path) -> None:
    script = (
        "import sys, io, contextlib\n"
        "from aleph_gui.cli import main\n"
        f"args = ['--home', {str(home)!r}, '--project', {str(project)!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    for cmd in (['list', '--json'], ['show', 'quiet'], ['validate', '.'], ['grant', 'net-tool'],\n"
        "                ['disable', 'quiet'], ['enable', 'quiet'], ['revoke', 'net-tool']):\n"
        "        main(args + cmd)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'extism', 'qasync', 'shiboken6')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_help_lists_every_command() -> None:
    proc = subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--help"], capture_output=True, text=True,
                          timeout=60)
    for command in ("list", "show", "validate", "enable", "disable", "grant", "revoke", "call", "fire",
                    "skills", "install", "uninstall", "watch", "mcp", "service", "init", "serve", "host"):
        assert command in proc.stdout
