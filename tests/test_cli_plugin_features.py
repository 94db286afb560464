"""`aleph-ext config`, `run`, `log`, `trust`/`untrust` and `skills show` (issue 14), the same through a
running host and in-process (the `aleph_ext` fixture runs each test both ways)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from host_support import HostProcess, Lines, cli_env, host_status, wait_for
from node_support import DEMOS, needs_node
from plugin_files import approve

Run = Callable[..., subprocess.CompletedProcess]
KIT = "node-assistant-kit"


@pytest.fixture
def kit(home: Path) -> None:
    shutil.copytree(DEMOS / KIT, home / "plugins" / KIT)


@needs_node
def test_settings_are_validated_stored_and_shown(kit: None, aleph_ext: Run) -> None:
    shown = aleph_ext("config", KIT)
    assert shown.returncode == 0 and 'greeting = "Hello"  (default)' in shown.stdout
    refused = aleph_ext("config", KIT, "greeting", "42")
    assert refused.returncode == 1 and "'greeting': must be text, got 42" in refused.stderr
    assert aleph_ext("config", KIT, "greeting", "Ahoy").returncode == 0
    assert json.loads(aleph_ext("config", KIT, "greeting").stdout) == "Ahoy"
    doc = json.loads(aleph_ext("config", KIT, "--json").stdout)
    assert doc["values"] == {"greeting": "Ahoy"} and doc["defaults"] == {"greeting": "Hello"}
    assert aleph_ext("config", KIT, "--unset", "greeting").returncode == 0
    assert json.loads(aleph_ext("config", KIT, "greeting").stdout) == "Hello"
    unknown = aleph_ext("config", "ghost")
    assert unknown.returncode == 1 and "unknown plugin 'ghost'" in unknown.stderr


@needs_node
def test_run_passes_output_and_exit_code_through_and_log_shows_it(kit: None, aleph_ext: Run) -> None:
    assert aleph_ext("grant", KIT).returncode == 0
    done = aleph_ext("run", KIT, "greet", "Ada", "Lovelace")
    assert (done.returncode, done.stdout) == (0, "Hello, Ada Lovelace!\n")
    failed = aleph_ext("run", KIT, "greet", "--fail")
    assert failed.returncode == 3 and failed.stderr == "greet: --fail was asked for\n" and failed.stdout == ""
    logged = [json.loads(line) for line in aleph_ext("log", "--json", "--plugin", KIT).stdout.splitlines()]
    assert [(r["event"], r["handler"], r["client"]) for r in logged][-2:] == [("cli", "greet", "cli")] * 2
    assert aleph_ext("log", "--json", "--event", "PreToolUse").stdout == ""  # filters by the canonical event


def test_log_follow_streams_the_hosts_calls_as_they_happen(home: Path, tmp_path: Path) -> None:
    options = ["--project", str(tmp_path), "--no-builtin"]
    cli = [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), *options]
    alone = subprocess.run([*cli, "log", "--follow"], capture_output=True, text=True, env=cli_env(home), timeout=60)
    assert alone.returncode == 1 and "no host is running for this home" in alone.stderr
    approve(home, shutil.copytree(DEMOS / "wasm-wat-text-tools", home / "plugins" / "wasm-wat-text-tools"))
    host = HostProcess(home, options, tmp_path)
    follower = None
    try:
        host.wait_until_serving()
        follower = subprocess.Popen([*cli, "log", "--follow", "--json", "--event", "tool_call"], text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(home))
        lines = Lines(follower.stdout)  # type: ignore[arg-type]
        wait_for(lambda: (s := host_status(home)) and len(s["clients"]) >= 1, what="the follower to connect")
        subprocess.run([*cli, "call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "hi"}'],
                       check=True, capture_output=True, env=cli_env(home), timeout=60)
        record = json.loads(lines.wait_for('"uppercase"'))
        assert (record["event"], record["plugin"], record["client"]) == ("tool_call", "wasm-wat-text-tools", "cli")
    finally:
        if follower is not None:
            follower.terminate()
            follower.wait(timeout=30)
        host.stop()


def test_trust_lets_a_project_plugin_run_and_untrust_stops_it(aleph_ext: Run, project: Path) -> None:
    plugin = project / ".aleph" / "plugins" / "local-notes"
    plugin.mkdir(parents=True)
    (plugin / "plugin.toml").write_text('[plugin]\nid = "local-notes"\nversion = "1.0.0"\n')
    state = {p["id"]: p for p in json.loads(aleph_ext("list", "--json").stdout)}["local-notes"]
    assert state["state"] == "needs_review" and state["trust_folder"] == str(project.resolve())
    trusted = aleph_ext("trust")  # the current project (the fixture runs in it)
    assert trusted.returncode == 0 and f"trusted {project.resolve()}" in trusted.stderr
    assert json.loads(aleph_ext("show", "local-notes", "--json").stdout)["state"] == "enabled"
    assert aleph_ext("untrust", str(project)).returncode == 0
    assert json.loads(aleph_ext("show", "local-notes", "--json").stdout)["state"] == "needs_review"


def test_skills_show_prints_a_body(aleph_ext: Run, home: Path) -> None:
    skill = home / "skills" / "tidy-notes"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: tidy-notes\ndescription: Tidy a note.\n---\n# Tidy\n\nKeep it short.\n")
    shown = aleph_ext("skills", "show", "tidy-notes")
    assert shown.returncode == 0 and shown.stdout == "# Tidy\n\nKeep it short.\n"
    assert "tidy-notes" in shown.stderr
    missing = aleph_ext("skills", "show", "nope")
    assert missing.returncode == 1 and "names 0 skills" in missing.stderr
