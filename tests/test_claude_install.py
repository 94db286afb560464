"""`aleph-ext claude install|uninstall` on a scratch home and project: what lands where, and the way back."""

from __future__ import annotations

import io
import json
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from aleph_gui.core.hook_events import CLAUDE_ALIASES
from aleph_gui.gateways.claude_config import aleph_ext_command, desktop_config_path
from aleph_gui.gateways.claude_install import cmd_claude_install, cmd_claude_uninstall, install, uninstall
from aleph_gui.gateways.json_settings import SettingsFileError

COMMAND = ["/opt/aleph/bin/aleph-ext", "--home", "/srv/aleph home"]
HOOK = "/opt/aleph/bin/aleph-ext --home '/srv/aleph home' claude hook"
SERVER = {"command": "/opt/aleph/bin/aleph-ext", "args": ["--home", "/srv/aleph home", "mcp", "serve"]}
BACKUP = re.compile(r"\.aleph-backup-\d{8}T\d{6}(-\d+)?(\.absent)?$")


@pytest.fixture
def user_home(tmp_path: Path) -> Path:
    path = tmp_path / "user"
    path.mkdir()
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "proj"
    path.mkdir(parents=True)
    return path


def run(op: Any, scope: str, user_home: Path, project: Path, command: list[str] = COMMAND, **kw: Any) -> Any:
    return op(scope, home=user_home, project=project, command=command, **kw)


def snapshot(root: Path, *, without_backups: bool = False) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under root."""
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        if without_backups and BACKUP.search(p.name):
            continue
        out[str(p.relative_to(root))] = None if p.is_dir() else p.read_bytes()
    return out


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def where(scope: str, user_home: Path, project: Path) -> tuple[Path | None, Path, tuple[str, ...]]:
    """(hooks file, MCP file, key path of mcpServers) for a scope, as the Claude docs give them."""
    claude_json = user_home / ".claude.json"
    return {
        "user": (user_home / ".claude" / "settings.json", claude_json, ("mcpServers",)),
        "project": (project / ".claude" / "settings.json", project / ".mcp.json", ("mcpServers",)),
        "local": (project / ".claude" / "settings.local.json", claude_json,
                  ("projects", str(project.resolve()), "mcpServers")),
        "desktop": (None, user_home / ".config" / "Claude" / "claude_desktop_config.json", ("mcpServers",)),
    }[scope]


def dig(doc: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        doc = doc[key]
    return doc


# -- what lands where -----------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["user", "project", "local"])
def test_install_puts_a_hook_for_every_chain_event_and_the_server_where_claude_reads_them(
        scope: str, user_home: Path, project: Path) -> None:
    report = run(install, scope, user_home, project)
    hooks_file, mcp_file, keys = where(scope, user_home, project)
    assert hooks_file is not None
    assert {(f.path, f.action) for f in report.files} == {(hooks_file, "created"), (mcp_file, "created")}
    hooks = read(hooks_file)["hooks"]
    assert list(hooks) == list(CLAUDE_ALIASES)
    for event, groups in hooks.items():
        assert len(groups) == 1
        group = groups[0]
        assert group.get("matcher") == (None if event in ("UserPromptSubmit", "Stop") else "*")
        assert group["hooks"] == [{"type": "command", "command": HOOK, "timeout": 10 if event == "SessionEnd" else 60}]
        assert shlex.split(group["hooks"][0]["command"]) == [*COMMAND, "claude", "hook"]
    assert dig(read(mcp_file), keys) == {"aleph": SERVER}


def test_desktop_gets_only_the_mcp_server(user_home: Path, project: Path) -> None:
    report = run(install, "desktop", user_home, project)
    path = user_home / ".config" / "Claude" / "claude_desktop_config.json"
    assert [(f.path, f.action) for f in report.files] == [(path, "created")]
    assert read(path) == {"mcpServers": {"aleph": SERVER}}
    assert not (user_home / ".claude").exists() and not (user_home / ".claude.json").exists()


def test_claude_desktop_config_paths_per_os(user_home: Path) -> None:
    assert desktop_config_path(user_home, "darwin") == \
        user_home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    assert desktop_config_path(user_home, "win32") == \
        user_home / "AppData" / "Roaming" / "Claude" / "claude_desktop_config.json"
    assert desktop_config_path(user_home, "linux") == user_home / ".config" / "Claude" / "claude_desktop_config.json"


def test_everything_already_there_is_kept_in_its_order(user_home: Path, project: Path) -> None:
    settings = user_home / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"model": "opus", "permissions": {"allow": ["Bash(ls)"]},
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "guard.sh"}]}],
                      "FileChanged": [{"matcher": ".envrc", "hooks": [{"type": "command", "command": "direnv"}]}]},
            "zz_unknown": {"nested": [1, 2.5, None, True]}}
    settings.write_text(json.dumps(mine, indent=2))
    state = {"numStartups": 41, "mcpServers": {"github": {"type": "http", "url": "https://example.com/mcp"}},
             "projects": {"/elsewhere": {"allowedTools": [], "mcpServers": {"db": {"command": "pg-mcp"}}}},
             "tipsHistory": {"x": 3}}
    (user_home / ".claude.json").write_text(json.dumps(state, indent=2))
    run(install, "user", user_home, project)
    after = read(settings)
    assert list(after) == list(mine)
    assert after["hooks"]["PreToolUse"][0] == mine["hooks"]["PreToolUse"][0]  # the user's group stays first
    assert after["hooks"]["PreToolUse"][1]["hooks"][0]["command"] == HOOK
    assert after["hooks"]["FileChanged"] == mine["hooks"]["FileChanged"]
    assert {k: v for k, v in after.items() if k != "hooks"} == {k: v for k, v in mine.items() if k != "hooks"}
    claude = read(user_home / ".claude.json")
    assert list(claude) == list(state)
    assert list(claude["mcpServers"]) == ["github", "aleph"] and claude["projects"] == state["projects"]


def test_install_backs_up_each_file_it_changes_next_to_it(user_home: Path, project: Path) -> None:
    original = b'{\n  "model": "opus"\n}\n'
    (user_home / ".claude.json").write_bytes(original)
    report = run(install, "user", user_home, project)
    changed = {f.path: f for f in report.files}[user_home / ".claude.json"]
    assert changed.action == "updated" and changed.backup is not None
    assert changed.backup.parent == user_home and BACKUP.search(changed.backup.name)
    assert changed.backup.read_bytes() == original


def test_a_private_file_and_its_backup_stay_private(user_home: Path, project: Path) -> None:
    claude_json = user_home / ".claude.json"
    claude_json.write_text('{"oauthAccount": {"emailAddress": "you@example.com"}}')
    claude_json.chmod(0o600)
    report = run(install, "user", user_home, project)
    backup = {f.path: f.backup for f in report.files}[claude_json]
    assert backup is not None
    assert (claude_json.stat().st_mode & 0o777, backup.stat().st_mode & 0o777) == (0o600, 0o600)


def test_installing_twice_adds_nothing(user_home: Path, project: Path, tmp_path: Path) -> None:
    run(install, "local", user_home, project)
    before = snapshot(tmp_path)
    report = run(install, "local", user_home, project)
    assert [f.action for f in report.files] == ["unchanged", "unchanged"] and not report.changed
    assert snapshot(tmp_path) == before  # not even a backup


# -- the way back ---------------------------------------------------------------------------------------

LAYOUTS = {
    "absent": None,
    "indent 4, no final newline": b'{\n    "model": "opus",\n    "env": {\n        "A": "1"\n    }\n}',
    "tabs and CRLF": b'{\r\n\t"model": "opus",\r\n\t"list": [\r\n\t\t1,\r\n\t\t2\r\n\t]\r\n}\r\n',
    "escaped unicode": b'{\n  "name": "caf\\u00e9 \\u2615",\n  "n": 1.5\n}\n',
    "raw unicode, BOM": "\ufeff{\n  \"name\": \"café ☕ 日本\"\n}\n".encode(),
    "one line": b'{"model": "opus", "hooks": {}, "mcpServers": {}}',
    "compact": b'{"model":"opus","permissions":{"allow":["Bash(ls)"]}}\n',
    "empty file": b"",
}


@pytest.mark.parametrize("scope", ["user", "project", "local", "desktop"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_install_then_uninstall_leaves_every_file_byte_identical(
        scope: str, layout: str, user_home: Path, project: Path, tmp_path: Path) -> None:
    content = LAYOUTS[layout]
    if content is not None:
        for path in {p for p in where(scope, user_home, project)[:2] if p is not None}:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
    before = snapshot(tmp_path)
    installed = run(install, scope, user_home, project)
    assert installed.changed and snapshot(tmp_path) != before
    removed = run(uninstall, scope, user_home, project)
    assert {f.action for f in removed.files} <= {"restored", "removed"}
    assert snapshot(tmp_path, without_backups=True) == before


def test_a_second_install_uninstall_cycle_is_byte_identical_too(user_home: Path, project: Path,
                                                               tmp_path: Path) -> None:
    (user_home / ".claude.json").write_bytes(b'{\n  "numStartups": 3\n}')
    before = snapshot(tmp_path)
    for _ in range(2):
        run(install, "user", user_home, project)
        run(uninstall, "user", user_home, project)
        assert snapshot(tmp_path, without_backups=True) == before


def test_uninstall_keeps_what_the_user_added_since(user_home: Path, project: Path) -> None:
    run(install, "project", user_home, project)
    settings = project / ".claude" / "settings.json"
    doc = read(settings)
    doc["hooks"]["PreToolUse"].append({"matcher": "Write", "hooks": [{"type": "command", "command": "lint.sh"}]})
    doc["permissions"] = {"deny": ["Bash(curl:*)"]}
    settings.write_text(json.dumps(doc, indent=2))
    report = run(uninstall, "project", user_home, project)
    assert {f.path: f.action for f in report.files}[settings] == "updated"
    assert read(settings) == {"hooks": {"PreToolUse": [{"matcher": "Write",
                                                        "hooks": [{"type": "command", "command": "lint.sh"}]}]},
                              "permissions": {"deny": ["Bash(curl:*)"]}}
    assert not (project / ".mcp.json").exists()


def test_uninstall_removes_only_entries_with_the_same_command(user_home: Path, project: Path,
                                                             tmp_path: Path) -> None:
    run(install, "user", user_home, project)
    before = snapshot(tmp_path)
    report = run(uninstall, "user", user_home, project, command=["/other/aleph-ext"])
    assert not report.changed and snapshot(tmp_path) == before


def test_uninstall_without_an_install_changes_nothing(user_home: Path, project: Path, tmp_path: Path) -> None:
    (user_home / ".claude.json").write_text('{"numStartups": 1}')
    before = snapshot(tmp_path)
    assert not run(uninstall, "user", user_home, project).changed
    assert snapshot(tmp_path) == before


def test_a_symlinked_settings_file_stays_a_symlink(user_home: Path, project: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "settings.json"
    real.parent.mkdir()
    real.write_text('{"model": "opus"}\n')
    (user_home / ".claude").mkdir()
    (user_home / ".claude" / "settings.json").symlink_to(real)
    run(install, "user", user_home, project)
    assert (user_home / ".claude" / "settings.json").is_symlink()
    assert read(real)["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == HOOK
    run(uninstall, "user", user_home, project)
    assert real.read_text() == '{"model": "opus"}\n'


# -- dry runs and refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("op", [install, uninstall])
def test_a_dry_run_changes_nothing_and_shows_the_diff(op: Any, user_home: Path, project: Path,
                                                      tmp_path: Path) -> None:
    (user_home / ".claude.json").write_text('{\n  "numStartups": 3\n}\n')
    if op is uninstall:
        run(install, "user", user_home, project)
    before = snapshot(tmp_path)
    report = run(op, "user", user_home, project, dry_run=True)
    assert snapshot(tmp_path) == before
    lines = "".join(f.diff for f in report.files).splitlines()
    sign = "+" if op is install else "-"
    assert any(line.startswith(sign) and '"aleph": {' in line for line in lines)
    assert any(line.startswith(sign) and HOOK in line for line in lines)
    assert report.text().count("would be") == 2 and "---" in report.text()


MALFORMED = [
    (".claude/settings.json", b'{"hooks": {', "is not valid JSON"),
    (".claude/settings.json", b'{"hooks": []}', '"hooks" as a JSON list, not an object'),
    (".claude/settings.json", b'{"hooks": {"Stop": {}}}', '"hooks"."Stop" as a JSON dict, not a list'),
    (".claude.json", b"[]", "holds a JSON list, not an object"),
    (".claude.json", b'{"mcpServers": "none"}', '"mcpServers" as a JSON str, not an object'),
    (".claude.json", b"\xff\xfe{}", "is not UTF-8 text"),
    (".claude.json", b'{"mcpServers": {"aleph": {"command": "someone-else"}}}', 'an MCP server named "aleph"'),
    (".claude/settings.json", json.dumps({"hooks": {"Stop": [{"hooks": [
        {"type": "command", "command": "/old/venv/bin/aleph-ext claude hook"}]}]}}).encode(),
     "already runs Aleph's hooks with another command"),
]


@pytest.mark.parametrize(("name", "content", "words"), MALFORMED)
def test_a_malformed_or_conflicting_file_is_refused_and_nothing_changes(
        name: str, content: bytes, words: str, user_home: Path, project: Path, tmp_path: Path) -> None:
    path = user_home / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    before = snapshot(tmp_path)
    with pytest.raises(SettingsFileError) as refused:
        run(install, "user", user_home, project)
    assert str(path) in str(refused.value) and words in str(refused.value)
    assert "nothing was changed" in str(refused.value)
    assert snapshot(tmp_path) == before  # the other, healthy file was not written either


def test_local_scope_refuses_a_project_entry_that_is_not_an_object(user_home: Path, project: Path) -> None:
    (user_home / ".claude.json").write_text(json.dumps({"projects": {str(project.resolve()): []}}))
    with pytest.raises(SettingsFileError, match="not an object"):
        run(install, "local", user_home, project)


# -- the command-line entry points ----------------------------------------------------------------------


def test_aleph_ext_command_is_absolute_with_an_absolute_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    command = aleph_ext_command("relative-home")
    assert Path(command[0]).is_absolute() and Path(command[0]).exists()
    assert command[-2:] == ["--home", str(tmp_path / "relative-home")]
    assert command[0] == str(Path(sys.executable).parent / "aleph-ext") or command[1:3] == ["-m", "aleph_gui"]


def test_cli_install_dry_run_then_install_then_uninstall(user_home: Path, project: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(user_home))
    before = snapshot(tmp_path)
    out = io.StringIO()
    assert cmd_claude_install(scope="project", dry_run=True, project=str(project), out=out) == 0
    assert snapshot(tmp_path) == before and "+++" in out.getvalue() and "claude hook" in out.getvalue()
    out = io.StringIO()
    assert cmd_claude_install(scope="project", desktop=True, project=str(project), out=out) == 0
    text = out.getvalue()
    assert "Claude Code (project scope)" in text and "Claude Desktop" in text and "Restart Claude Code" in text
    assert read(project / ".mcp.json")["mcpServers"]["aleph"]["args"] == ["mcp", "serve"]
    assert (user_home / ".config" / "Claude" / "claude_desktop_config.json").exists()
    out = io.StringIO()
    assert cmd_claude_uninstall(scope="project", desktop=True, project=str(project), as_json=True, out=out) == 0
    assert {f["action"] for r in json.loads(out.getvalue()) for f in r["files"]} == {"removed"}
    assert snapshot(tmp_path, without_backups=True) == before


def test_cli_refuses_every_target_when_one_file_is_malformed(user_home: Path, project: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(user_home))
    broken = user_home / ".config" / "Claude" / "claude_desktop_config.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    before = snapshot(tmp_path)
    with pytest.raises(SettingsFileError, match="claude_desktop_config.json is not valid JSON"):
        cmd_claude_install(scope="user", desktop=True, project=str(project), out=io.StringIO())
    assert snapshot(tmp_path) == before
