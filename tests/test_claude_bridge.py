"""`aleph-ext claude hook` as Claude Code runs it — a process with Claude's payload on stdin — answered through a
running host (named "claude-code" in its hook log) and, with no host, by the chain run in the process itself.
A guard plugin blocks `rm -rf` (exit 2, the reason on stderr) and rewrites `npm test` (updatedInput)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agent_support import ROOT, add_guard, grant
from claude_payloads import payload
from host_support import HostProcess, cli_env
from node_support import needs_node

from aleph_gui.host.client import call_sync

pytestmark = [needs_node, pytest.mark.timeout(240)]

DESTRUCTIVE = payload("PreToolUse", tool_input={"command": "rm -rf ~/", "description": "clean up"})
REWRITTEN = payload("PreToolUse")  # `npm test`
HARMLESS = payload("PreToolUse", tool_input={"command": "ls", "description": "look"})


HEAVY = ("argparse", "asyncio", "pydantic", "extism", "PySide6", "mcp", "jsonschema", "yaml", "uvicorn",
         "aleph_gui.core.manager", "aleph_gui.host.operations", "aleph_gui.ui")


def hook(home: Path, stdin: dict[str, Any], *flags: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, *flags, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin",
                           "claude", "hook"], input=json.dumps(stdin).encode(), capture_output=True, timeout=120,
                          cwd=ROOT, env=cli_env(home))


def assert_claude_answers(home: Path) -> None:
    blocked = hook(home, DESTRUCTIVE)
    assert (blocked.returncode, blocked.stdout) == (2, b"")
    assert blocked.stderr.decode() == "rm -rf deletes files without asking (Aleph plugin tool-guard)\n"
    rewritten = hook(home, REWRITTEN)
    assert rewritten.returncode == 0 and rewritten.stderr == b""
    answer = json.loads(rewritten.stdout)["hookSpecificOutput"]
    assert answer["hookEventName"] == "PreToolUse" and answer["updatedInput"]["command"] == "npm test -- --bail"
    passed = hook(home, HARMLESS)
    assert (passed.returncode, passed.stdout, passed.stderr) == (0, b"", b"")


@pytest.fixture
def guarded_home(home: Path) -> Path:
    add_guard(home)
    import asyncio

    asyncio.run(grant(home, "tool-guard"))
    return home


def test_a_hook_payload_is_answered_through_the_running_host_in_claudes_protocol(guarded_home: Path) -> None:
    host = HostProcess(guarded_home, ["--no-builtin"], ROOT)
    try:
        host.wait_until_serving()
        served = call_sync(guarded_home, "host.status", {}, client="test")["served"]
        assert_claude_answers(guarded_home)
        assert call_sync(guarded_home, "host.status", {}, client="test")["served"] >= served + 3
        records = call_sync(guarded_home, "log", {"limit": 50, "plugin": "tool-guard"}, client="test")
        assert [(r["decision"], r["client"]) for r in records] == [
            ("block", "claude-code"), ("intercept", "claude-code"), ("continue", "claude-code")]

        # Claude runs this before every tool call: with a host, nothing heavy loads on the way (not even argparse).
        measured = hook(guarded_home, HARMLESS, "-X", "importtime")
        assert measured.returncode == 0 and measured.stdout == b""
        imported = {m.group(1).strip() for m in re.finditer(r"^import time:\s+\d+ \|\s+\d+ \|(.+)$",
                                                             measured.stderr.decode(), re.M)}
        assert "aleph_gui.gateways.claude_protocol" in imported and "aleph_gui.host.client" in imported
        assert sorted(n for n in imported if n.split(".")[0] in HEAVY or n.startswith(HEAVY)) == []
    finally:
        code, err = host.stop()
        assert code == 0, err


def test_with_no_host_the_hook_runs_the_chain_itself(guarded_home: Path) -> None:
    assert_claude_answers(guarded_home)
    assert not (guarded_home / "host.json").exists()


def test_install_puts_the_home_in_use_into_claudes_entries(tmp_path: Path) -> None:
    """Claude starts `aleph-ext` with its own environment: the entries must name the home this command used."""
    home, project, user = tmp_path / "aleph home", tmp_path / "project", tmp_path / "user"
    project.mkdir()
    env = {**cli_env(home), "HOME": str(user)}
    done = subprocess.run([sys.executable, "-m", "aleph_gui.cli", "claude", "install", "--scope", "project",
                           "--project", str(project), "--json"], capture_output=True, text=True, timeout=120,
                          env=env, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert {f["action"] for r in json.loads(done.stdout) for f in r["files"]} == {"created"}
    server = json.loads((project / ".mcp.json").read_text())["mcpServers"]["aleph"]
    assert server["args"] == ["--home", str(home), "mcp", "serve"]
    hook_command = json.loads((project / ".claude" / "settings.json").read_text())["hooks"]["PreToolUse"][0]
    assert hook_command["hooks"][0]["command"].endswith(f"--home '{home}' claude hook")
    undone = subprocess.run([sys.executable, "-m", "aleph_gui.cli", "claude", "uninstall", "--scope", "project",
                             "--project", str(project)], capture_output=True, text=True, timeout=120, env=env,
                            cwd=ROOT)
    assert undone.returncode == 0 and not (project / ".mcp.json").exists()
