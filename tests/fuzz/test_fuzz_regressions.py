"""Failing examples the fuzzers found, kept as plain regression tests (each was a real bug)."""

from __future__ import annotations

import json
from pathlib import Path

from aleph_gui.core.discovery import discover
from aleph_gui.core.manifest.claude_hooks import parse_hooks_json
from aleph_gui.core.manifest.claude_mcp import parse_mcp_json
from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.paths import Locations
from aleph_gui.core.skills import parse_agent, parse_skill


def test_a_json_manifest_holding_null_says_so(tmp_path: Path) -> None:
    (tmp_path / "aleph.plugin.json").write_text("null")
    result = load_plugin_folder(tmp_path)
    assert result.manifest is None
    assert [p.message for p in result.problems] == ["must hold a JSON object, got null"]


def test_deeply_nested_claude_files_are_reported_not_raised(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    caps, problems = parse_hooks_json(deep, "hooks/hooks.json")
    assert caps == [] and "nested too deeply" in problems[0].message
    caps, problems = parse_mcp_json(deep, ".mcp.json")
    assert caps == [] and "nested too deeply" in problems[0].message
    plugin = tmp_path / "home" / "plugins" / "deep"
    (plugin / ".claude-plugin").mkdir(parents=True)
    (plugin / ".claude-plugin" / "plugin.json").write_text(deep)
    found = discover(Locations(home=tmp_path / "home", project=None, builtin=None))  # used to raise
    assert [f.id for f in found] == ["deep"] and not found[0].valid
    assert "nested too deeply" in found[0].problems[0].message


def test_front_matter_nested_thousands_deep_is_skipped_with_a_reason(tmp_path: Path) -> None:
    skill = tmp_path / "skills" / "deep" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: deep\ndescription: " + "{" * 10_000 + "\n---\nbody\n")
    entry = parse_skill(skill)
    assert not entry.usable
    assert "brackets" in entry.problems[0].message


def test_a_one_line_front_matter_of_megabytes_is_refused(tmp_path: Path) -> None:
    agent = tmp_path / "agents" / "big.md"
    agent.parent.mkdir(parents=True)
    agent.write_text("---\ndescription: " + "x" * 5_000_000 + "\n---\n")
    entry = parse_agent(agent)
    assert not entry.usable and "64 KiB" in entry.problems[0].message
    json.dumps(entry.to_json())


def test_recursive_yaml_aliases_in_front_matter_are_refused(tmp_path: Path) -> None:
    skill = tmp_path / "skills" / "loop" / "SKILL.md"
    skill.parent.mkdir(parents=True)
    skill.write_text("---\nname: loop\ndescription: d\na: &x [*x]\n---\n")
    entry = parse_skill(skill)
    assert not entry.usable and "aliases" in entry.problems[0].message
    json.dumps(entry.to_json())  # `aleph-ext skills --json` used to die in a RecursionError


def test_a_component_folder_linking_outside_the_plugin_is_not_scanned(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    (plugin / ".claude-plugin").mkdir(parents=True)
    (plugin / ".claude-plugin" / "plugin.json").write_text('{"name": "p"}')
    outside = tmp_path / "outside" / "agents"
    outside.mkdir(parents=True)
    (outside / "stranger.md").write_text("---\nname: stranger\ndescription: not this plugin's\n---\n")
    (plugin / "agents").symlink_to(outside)
    result = load_plugin_folder(plugin)
    assert result.manifest is not None and not result.manifest.of_type("agent")
    assert any("outside the plugin folder" in p.message for p in result.problems)


def test_an_entry_name_too_long_for_the_file_system_is_reported(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "p", "aleph": {"kind": "wasm", "entry": "a" * 300}}))
    result = load_plugin_folder(tmp_path)  # used to raise OSError: File name too long
    assert any("does not exist" in p.message for p in result.problems if p.severity == "error")
