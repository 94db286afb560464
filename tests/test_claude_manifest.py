"""Claude Code manifests: plugin.json, inline hooks and servers, layouts, and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aleph_gui.core.manifest.claude import parse_claude_layout, parse_claude_plugin
from aleph_gui.core.manifest.claude_hooks import parse_hooks_json
from aleph_gui.core.manifest.detect import looks_like_claude_layout
from aleph_gui.core.problems import has_errors

DEMOS = Path(__file__).resolve().parent.parent / "plugins_demo"


def plugin(tmp_path: Path, manifest: Any, *, file: str = ".claude-plugin/plugin.json",
           files: dict[str, str] | None = None) -> Path:
    root = tmp_path / "plug"
    (root / file).parent.mkdir(parents=True, exist_ok=True)
    (root / file).write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
    for rel, text in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def errors(result: Any) -> list[str]:
    return [p.sentence() for p in result.problems if p.severity == "error"]


def test_minimal_manifest_gets_an_id_from_its_name_and_version_0_0_0(tmp_path: Path) -> None:
    result = parse_claude_plugin(plugin(tmp_path, {"name": "My Cool_Plugin", "description": "d",
                                                   "author": {"name": "Ann"}}), ".claude-plugin/plugin.json")
    m = result.manifest
    assert m is not None and not has_errors(result.problems)
    assert (m.id, m.name, m.version, m.author, m.kind, m.format) == (
        "my-cool-plugin", "My Cool_Plugin", "0.0.0", "Ann", "claude", "claude")
    assert not m.scope.needs_review()  # nothing runs: nothing to approve


def test_cc_plugin_json_alias(tmp_path: Path) -> None:
    root = plugin(tmp_path, {"name": "alias"}, file="cc-plugin.json")
    result = parse_claude_plugin(root, "cc-plugin.json")
    assert result.manifest is not None and result.manifest.manifest_file == "cc-plugin.json"


@pytest.mark.parametrize(("text", "needle"), [
    ("{broken", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps({"version": "1.0.0"}), "name — is required"),
    (json.dumps({"name": "!!!"}), "has no letters"),
    (json.dumps({"name": "x", "commands": 5}), "expected a path or a list of paths"),
    (json.dumps({"name": "x", "skills": ["/etc"]}), "absolute path"),
    (json.dumps({"name": "x", "hooks": "missing/hooks.json"}), "does not exist"),
])
def test_bad_manifests_give_one_clear_error(tmp_path: Path, text: str, needle: str) -> None:
    result = parse_claude_plugin(plugin(tmp_path, text), ".claude-plugin/plugin.json")
    found = errors(result)
    assert len(found) == 1 and needle in found[0], found
    assert result.fallback_id  # still listed under a name


def test_a_symlink_leaving_the_plugin_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "evil").mkdir(parents=True)
    root = plugin(tmp_path, {"name": "x", "commands": "./cmds"})
    (root / "cmds").symlink_to(outside)
    assert any("through a symlink" in e for e in errors(parse_claude_plugin(root, ".claude-plugin/plugin.json")))


def test_unknown_keys_and_events_are_warnings(tmp_path: Path) -> None:
    hooks = {"hooks": {"FutureEvent": [{"hooks": [{"type": "command", "command": "true"}]}],
                       "Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}
    root = plugin(tmp_path, {"name": "x", "newField": 1}, files={"hooks/hooks.json": json.dumps(hooks)})
    result = parse_claude_plugin(root, ".claude-plugin/plugin.json")
    assert not has_errors(result.problems)
    warnings = [p.sentence() for p in result.problems]
    assert any("newField" in w and "unknown key" in w for w in warnings)
    assert any("unknown hook event 'FutureEvent'" in w for w in warnings)
    assert [c.event for c in result.manifest.of_type("hook")] == ["agent_end"]  # type: ignore[union-attr]


def test_a_bare_event_map_in_hooks_json_is_a_clear_error() -> None:
    caps, problems = parse_hooks_json(json.dumps({"PreToolUse": [{"hooks": []}]}), "hooks/hooks.json")
    assert caps == [] and len(problems) == 1
    assert "bare event map" in problems[0].message and "wrap it" in problems[0].message


@pytest.mark.parametrize(("config", "needle"), [
    ({"hooks": []}, "found a JSON list"),
    ({"hooks": {"PreToolUse": {"matcher": "x"}}}, "list of {matcher, hooks"),
    ({"hooks": {"PreToolUse": [{"matcher": 3, "hooks": []}]}}, "expected a string"),
    ({"hooks": {"PreToolUse": [{"hooks": "cmd"}]}}, "expected a list of hooks"),
    ({"hooks": {"PreToolUse": [{"hooks": [{"type": "command"}]}]}}, "needs a 'command'"),
    ({"events": []}, "top-level \"hooks\""),
])
def test_malformed_hooks_configs(config: Any, needle: str) -> None:
    caps, problems = parse_hooks_json(json.dumps(config), "hooks.json")
    assert caps == [] and any(needle in p.message for p in problems if p.severity == "error"), problems


def test_command_hook_capability_shape() -> None:
    config = {"hooks": {"PostToolUse": [{"matcher": "Edit|Write", "hooks": [
        {"type": "command", "command": "python3 ${CLAUDE_PLUGIN_ROOT}/fmt.py", "timeout": 5, "async": True}]}]}}
    (cap,), problems = parse_hooks_json(json.dumps(config), "hooks/hooks.json")
    assert problems == []
    assert (cap.type, cap.event, cap.matcher, cap.timeout_ms) == ("hook", "after_tool_call", "Edit|Write", 5000)
    assert cap.details == {"hook_type": "command", "command": "python3 ${CLAUDE_PLUGIN_ROOT}/fmt.py",
                           "claude_event": "PostToolUse", "async": True}


def test_inline_hooks_and_servers_in_plugin_json(tmp_path: Path) -> None:
    manifest = {"name": "inline",
                "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]},
                "mcpServers": {"db": {"command": "npx", "args": ["-y", "db-mcp"]},
                               "api": {"type": "http", "url": "https://api.example.com/mcp"}}}
    result = parse_claude_plugin(plugin(tmp_path, manifest), ".claude-plugin/plugin.json")
    m = result.manifest
    assert m is not None and result.problems == []
    assert [c.event for c in m.of_type("hook")] == ["before_tool_call"]
    assert [c.name for c in m.of_type("mcp_server")] == ["db", "api"]
    assert m.scope.shell and m.scope.network_access.hosts == ["api.example.com"]
    assert m.scope.needs_review()


def test_skill_problems_become_warnings_on_the_plugin(tmp_path: Path) -> None:
    root = plugin(tmp_path, {"name": "x"}, files={
        "skills/good/SKILL.md": "---\nname: good\ndescription: Works.\n---\nbody\n",
        "skills/nodesc/SKILL.md": "---\nname: nodesc\n---\nbody\n",
        "skills/broken/SKILL.md": "---\nname: [unclosed\n---\n",
    })
    result = parse_claude_plugin(root, ".claude-plugin/plugin.json")
    assert not has_errors(result.problems)  # one bad skill does not make the plugin invalid
    assert [c.name for c in result.manifest.of_type("skill")] == ["x:good"]  # type: ignore[union-attr]
    assert len([p for p in result.problems if "skipped" in p.message]) == 2


def test_layout_detection_is_cheap_and_specific(tmp_path: Path) -> None:
    assert not looks_like_claude_layout(tmp_path)
    (tmp_path / "hooks").mkdir()
    assert not looks_like_claude_layout(tmp_path)
    (tmp_path / "hooks" / "hooks.json").write_text("{}")
    assert looks_like_claude_layout(tmp_path)


def test_layout_with_a_bad_hooks_file_is_invalid_with_a_reason(tmp_path: Path) -> None:
    folder = tmp_path / "Loose Hooks"
    (folder / "hooks").mkdir(parents=True)
    (folder / "hooks" / "hooks.json").write_text("[]")
    result = parse_claude_layout(folder)
    assert result.fallback_id == "loose-hooks" and has_errors(result.problems)


def test_demo_plugins_parse_as_documented() -> None:
    guard = parse_claude_plugin(DEMOS / "claude-safety-guard", ".claude-plugin/plugin.json")
    m = guard.manifest
    assert m is not None and guard.problems == []
    assert [len(m.of_type(t)) for t in ("skill", "command", "agent", "hook")] == [1, 1, 1, 1]
    assert m.scope.shell and m.scope.needs_review()
    writing = parse_claude_layout(DEMOS / "writing-skills")
    assert writing.manifest is not None and writing.problems == []
    assert not writing.manifest.scope.needs_review()
