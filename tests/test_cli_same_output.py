"""The same `aleph-ext` commands, once with no host and once through `aleph-ext serve`: the same stdout, the
same stderr and the same exit codes (times and durations aside)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from host_support import CliRunner
from manager_helpers import static_toml, write_plugin
from plugin_files import approve

ROOT = Path(__file__).resolve().parents[1]

SESSION: list[tuple[str, ...]] = [
    ("list",),
    ("show", "wasm-wat-text-tools"),
    ("show", "asker"),
    ("show", "ghost"),
    ("show", "ghost", "--json"),
    ("call", "wasm-wat-text-tools", "uppercase", "--input", '{"text": "same either way"}'),
    ("call", "wasm-wat-text-tools", "nope"),
    ("call", "ghost", "tool"),
    ("fire", "message_received", "--payload", '{"text": "no spam please"}'),
    ("fire", "message_received", "--payload", '{"text": "fine"}'),
    ("skills",),
    ("service", "status"),
    ("disable", "plain"),
    ("list",),
    ("enable", "plain"),
    ("enable", "asker"),
    ("grant", "asker"),
    ("show", "asker"),
    ("revoke", "asker"),
    ("revoke", "asker"),
    ("uninstall", "plain"),
    ("uninstall", "plain"),
    ("list",),
]
TIMES = re.compile(r"\b\d+ µs\b")


def run_session(mode: str, tmp_path: Path) -> list[tuple[int, str, str]]:
    home = tmp_path / mode / "home"
    approve(home, shutil.copytree(ROOT / "plugins_demo" / "wasm-wat-text-tools", home / "plugins" / "wasm-wat-text-tools"))
    write_plugin(home / "plugins", "plain", {"plugin.toml": static_toml("plain")})
    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv"))})
    skills = home / "skills" / "tidy"
    skills.mkdir(parents=True)
    (skills / "SKILL.md").write_text("---\nname: tidy\ndescription: Keep things tidy\n---\nTidy up.\n")
    runner = CliRunner(mode, home, tmp_path / "no-project", cwd=ROOT)
    try:
        outcomes = []
        for command in SESSION:
            done = runner(*command)
            outcomes.append((done.returncode, done.stdout.replace(str(home), "HOME"),
                             TIMES.sub("N µs", done.stderr.replace(str(home), "HOME"))))
        return outcomes
    finally:
        runner.close()


def test_a_session_prints_the_same_with_and_without_a_host(tmp_path: Path) -> None:
    alone = run_session("in-process", tmp_path)
    hosted = run_session("host", tmp_path)
    for command, one, other in zip(SESSION, alone, hosted, strict=True):
        assert one == other, f"aleph-ext {' '.join(command)}"
    assert [code for code, _, _ in alone].count(1) == 5  # the session does exercise failures
