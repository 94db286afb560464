"""Every Claude / skill / MCP file of the shared corpus loads, with the expected contents.

The files are copies in `tests/data/claude/` (licences: tests/data/claude/LICENSES.md). Valid
plugins must give the expected numbers of skills, commands, agents, hooks and MCP servers; the
malformed ones must give a clear error, never an exception.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aleph_gui.core.manifest.claude import parse_claude_layout, parse_claude_plugin
from aleph_gui.core.manifest.claude_hooks import parse_hooks_json
from aleph_gui.core.manifest.claude_mcp import parse_mcp_json
from aleph_gui.core.problems import has_errors
from aleph_gui.core.skills import parse_agent, parse_command, parse_skill

DATA = Path(__file__).resolve().parent / "data" / "claude"

# folder -> (skills, commands, agents, hooks, mcp servers, valid)
PLUGINS: dict[str, tuple[int, int, int, int, int, bool]] = {
    "EveryInc__compound-engineering-plugin": (0, 0, 0, 0, 0, True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths": (0, 2, 2, 2, 0, True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/invalid-command-path": (0, 0, 0, 0, 0, False),
    "EveryInc__compound-engineering-plugin/tests/fixtures/invalid-hooks-path": (0, 0, 0, 0, 0, False),
    "EveryInc__compound-engineering-plugin/tests/fixtures/invalid-mcp-path": (0, 0, 0, 0, 0, False),
    "EveryInc__compound-engineering-plugin/tests/fixtures/mcp-file": (0, 0, 0, 0, 1, True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin": (4, 7, 2, 15, 2, True),
    "affaan-m__everything-claude-code": (0, 0, 0, 28, 6, True),
    "anthropics__claude-plugins-official/external_plugins/discord": (1, 0, 0, 0, 1, True),
    "anthropics__claude-plugins-official/plugins/commit-commands": (0, 1, 0, 0, 0, True),
    "anthropics__claude-plugins-official/plugins/example-plugin": (2, 1, 0, 0, 1, True),
    "anthropics__claude-plugins-official/plugins/explanatory-output-style": (0, 0, 0, 1, 0, True),
    "anthropics__claude-plugins-official/plugins/feature-dev": (0, 1, 1, 0, 0, True),
    "anthropics__claude-plugins-official/plugins/hookify": (1, 1, 1, 4, 0, True),
    "anthropics__claude-plugins-official/plugins/ralph-loop": (0, 1, 0, 1, 0, True),
    "anthropics__claude-plugins-official/plugins/security-guidance": (0, 0, 0, 9, 0, True),
    "anthropics__financial-services-plugins/equity-research": (0, 0, 0, 0, 0, False),
    "anthropics__financial-services-plugins/investment-banking": (0, 0, 0, 0, 0, True),
    "anthropics__knowledge-work-plugins/engineering": (0, 0, 0, 0, 10, True),
    "anthropics__knowledge-work-plugins/partner-built/brand-voice": (0, 0, 0, 0, 0, True),
    "anthropics__knowledge-work-plugins/partner-built/zoom-plugin": (1, 0, 0, 0, 3, True),
    "anthropics__knowledge-work-plugins/pdf-viewer": (0, 0, 0, 0, 1, True),
    "anthropics__knowledge-work-plugins/small-business": (2, 0, 0, 0, 0, True),
    "obra__superpowers": (1, 0, 0, 1, 0, True),
    "wshobson__agents/plugins/context-management": (0, 1, 0, 0, 0, True),
    "wshobson__agents/plugins/database-migrations": (0, 1, 0, 0, 0, True),
    "wshobson__agents/plugins/protect-mcp": (1, 1, 1, 2, 0, True),
}

# markdown file -> (name, usable)
MARKDOWN: dict[str, tuple[str, bool]] = {
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/agents/default-agent.md": ("default-agent", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/commands/default-command.md": ("default-command", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/custom-agents/custom-agent.md": ("custom-agent", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/custom-commands/custom-command.md": ("custom-command", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/custom-skills/custom-skill/SKILL.md": ("custom-skill", False),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/skills/default-skill/SKILL.md": ("default-skill", False),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/agents/agent-one.md": ("repo-research-analyst", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/agents/security-reviewer.md": ("security-sentinel", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/command-one.md": ("workflows:review", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/disabled-command.md": ("deploy-docs", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/model-command.md": ("workflows:work", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/nested/command-two.md": ("plan_review", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/pattern-command.md": ("report-bug", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/skill-command.md": ("create-agent-skill", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/commands/todo-command.md": ("workflows:plan", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/skills/agent-only-skill/SKILL.md": ("agent-only-skill", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/skills/claude-only-skill/SKILL.md": ("claude-only-skill", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/skills/disabled-skill/SKILL.md": ("disabled-skill", True),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/skills/skill-one/SKILL.md": ("skill-one", True),
    "affaan-m__everything-claude-code/docs/zh-CN/skills/browser-qa/SKILL.md": ("browser-qa", False),
    "anthropics__claude-plugins-official/external_plugins/discord/skills/access/SKILL.md": ("access", True),
    "anthropics__claude-plugins-official/plugins/commit-commands/commands/commit.md": ("commit", True),
    "anthropics__claude-plugins-official/plugins/example-plugin/commands/example-command.md": ("example-command", True),
    "anthropics__claude-plugins-official/plugins/example-plugin/skills/example-command/SKILL.md": ("example-command", True),
    "anthropics__claude-plugins-official/plugins/example-plugin/skills/example-skill/SKILL.md": ("example-skill", True),
    "anthropics__claude-plugins-official/plugins/feature-dev/agents/code-explorer.md": ("code-explorer", True),
    "anthropics__claude-plugins-official/plugins/feature-dev/commands/feature-dev.md": ("feature-dev", True),
    "anthropics__claude-plugins-official/plugins/hookify/agents/conversation-analyzer.md": ("conversation-analyzer", True),
    "anthropics__claude-plugins-official/plugins/hookify/commands/hookify.md": ("hookify", True),
    "anthropics__claude-plugins-official/plugins/hookify/skills/writing-rules/SKILL.md": ("writing-hookify-rules", True),
    "anthropics__claude-plugins-official/plugins/ralph-loop/commands/ralph-loop.md": ("ralph-loop", True),
    "anthropics__claude-plugins-official/plugins/session-report/skills/session-report/SKILL.md": ("session-report", True),
    "anthropics__financial-services-plugins/equity-research/skills/catalyst-calendar/SKILL.md": ("catalyst-calendar", False),
    "anthropics__knowledge-work-plugins/partner-built/zoom-plugin/skills/video-sdk/ios/SKILL.md": ("zoom-video-sdk-ios", True),
    "anthropics__knowledge-work-plugins/small-business/skills/friday-brief/SKILL.md": ("friday-brief", True),
    "anthropics__knowledge-work-plugins/small-business/skills/ticket-deflector/SKILL.md": ("ticket-deflector", True),
    "anthropics__skills/skills/brand-guidelines/SKILL.md": ("brand-guidelines", True),
    "anthropics__skills/skills/claude-api/SKILL.md": ("claude-api", True),
    "anthropics__skills/skills/internal-comms/SKILL.md": ("internal-comms", True),
    "anthropics__skills/skills/theme-factory/SKILL.md": ("theme-factory", True),
    "anthropics__skills/skills/webapp-testing/SKILL.md": ("webapp-testing", True),
    "obra__superpowers/skills/using-superpowers/SKILL.md": ("using-superpowers", True),
    "rootazero__Aleph/.claude/skills/review-logic/SKILL.md": ("review-logic", True),
    "rootazero__Aleph/core/tests/fixtures/markdown_skills/echo-basic/SKILL.md": ("echo-basic", True),
    "rootazero__Aleph/core/tests/fixtures/markdown_skills/gh-pr-docker/SKILL.md": ("gh-pr-docker", True),
    "rootazero__Aleph/core/tests/fixtures/markdown_skills/invalid-yaml/SKILL.md": ("invalid-yaml", False),
    "wshobson__agents/plugins/context-management/commands/context-save.md": ("context-save", True),
    "wshobson__agents/plugins/database-migrations/commands/sql-migrations.md": ("sql-migrations", True),
    "wshobson__agents/plugins/protect-mcp/agents/policy-enforcer.md": ("policy-enforcer", True),
    "wshobson__agents/plugins/protect-mcp/commands/audit-chain.md": ("audit-chain", True),
    "wshobson__agents/plugins/protect-mcp/skills/protect-mcp-setup/SKILL.md": ("protect-mcp-setup", True),
}

# hooks.json / MCP config -> (capabilities, errors)
CONFIGS: dict[str, tuple[int, int]] = {
    "Apillon__mcp-server/claude_desktop_config.json": (2, 0),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/custom-hooks/hooks.json": (1, 0),
    "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths/hooks/hooks.json": (1, 0),
    "EveryInc__compound-engineering-plugin/tests/fixtures/mcp-file/.mcp.json": (1, 0),
    "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin/hooks/hooks.json": (15, 0),
    "affaan-m__everything-claude-code/.mcp.json": (6, 0),
    "affaan-m__everything-claude-code/hooks/hooks.json": (28, 0),
    "affaan-m__everything-claude-code/hooks/memory-persistence/hooks.json": (0, 1),
    "affaan-m__everything-claude-code/mcp-configs/mcp-servers.json": (28, 0),
    "anthropics__claude-plugins-official/external_plugins/discord/.mcp.json": (1, 0),
    "anthropics__claude-plugins-official/plugins/example-plugin/.mcp.json": (1, 0),
    "anthropics__claude-plugins-official/plugins/explanatory-output-style/hooks/hooks.json": (1, 0),
    "anthropics__claude-plugins-official/plugins/hookify/hooks/hooks.json": (4, 0),
    "anthropics__claude-plugins-official/plugins/plugin-dev/skills/mcp-integration/examples/http-server.json": (2, 0),
    "anthropics__claude-plugins-official/plugins/plugin-dev/skills/mcp-integration/examples/sse-server.json": (2, 0),
    "anthropics__claude-plugins-official/plugins/plugin-dev/skills/mcp-integration/examples/stdio-server.json": (3, 0),
    "anthropics__claude-plugins-official/plugins/ralph-loop/hooks/hooks.json": (1, 0),
    "anthropics__claude-plugins-official/plugins/security-guidance/hooks/hooks.json": (9, 0),
    "anthropics__financial-services-plugins/equity-research/hooks/hooks.json": (0, 1),
    "anthropics__financial-services-plugins/investment-banking/.mcp.json": (0, 0),
    "anthropics__financial-services-plugins/investment-banking/hooks/hooks.json": (0, 0),
    "anthropics__knowledge-work-plugins/cowork-plugin-management/skills/cowork-plugin-customizer/examples/customized-mcp.json": (5, 0),
    "anthropics__knowledge-work-plugins/engineering/.mcp.json": (10, 0),
    "anthropics__knowledge-work-plugins/partner-built/zoom-plugin/.mcp.json": (3, 0),
    "anthropics__knowledge-work-plugins/pdf-viewer/.mcp.json": (1, 0),
    "obra__superpowers/hooks/hooks.json": (1, 0),
    "wshobson__agents/plugins/protect-mcp/hooks/hooks.json": (2, 0),
}


def manifest_file(folder: Path) -> str:
    for name in (".claude-plugin/plugin.json", "claude-plugin/plugin.json"):
        if (folder / name).is_file():
            return name
    raise AssertionError(f"no Claude manifest in {folder}")


def test_the_tables_cover_every_copied_file() -> None:
    md = {str(p.relative_to(DATA)) for p in DATA.rglob("*.md") if p.name != "LICENSES.md"}
    configs = {str(p.relative_to(DATA)) for p in DATA.rglob("*.json") if p.name != "plugin.json"}
    plugins = {str(p.parent.parent.relative_to(DATA)) for p in DATA.rglob("plugin.json")
               if p.parent.name in (".claude-plugin", "claude-plugin")}
    assert md == set(MARKDOWN) and configs == set(CONFIGS) and plugins == set(PLUGINS)


@pytest.mark.parametrize("folder", sorted(PLUGINS))
def test_every_claude_plugin_loads_with_the_expected_contents(folder: str) -> None:
    root = DATA / folder
    result = parse_claude_plugin(root, manifest_file(root))
    skills, commands, agents, hooks, servers, valid = PLUGINS[folder]
    assert (not has_errors(result.problems)) is valid, [p.sentence() for p in result.problems]
    m = result.manifest
    assert m is not None and m.kind == "claude" and m.format == "claude"
    counts = tuple(len(m.of_type(t)) for t in ("skill", "command", "agent", "hook", "mcp_server"))
    assert counts == (skills, commands, agents, hooks, servers)
    for cap in m.capabilities:
        if cap.type in ("skill", "command", "agent"):
            assert cap.name.startswith(f"{m.id}:") and (root / cap.details["path"]).is_file()
        if cap.type == "hook" and cap.details["hook_type"] == "command":
            assert m.scope.shell, "command hooks run as the user: the scope must say so"
    for problem in result.problems:
        assert problem.file and problem.message  # every problem names its file and says what is wrong


def test_the_invalid_path_fixtures_say_which_path_escapes() -> None:
    for kind, key in (("command", "commands"), ("hooks", "hooks"), ("mcp", "mcpServers")):
        root = DATA / f"EveryInc__compound-engineering-plugin/tests/fixtures/invalid-{kind}-path"
        errors = [p for p in parse_claude_plugin(root, "claude-plugin/plugin.json").problems if p.severity == "error"]
        assert len(errors) == 1 and errors[0].field == key
        assert "uses '..' to leave the plugin folder" in errors[0].message


def test_custom_component_paths_add_to_the_default_folders() -> None:
    root = DATA / "EveryInc__compound-engineering-plugin/tests/fixtures/custom-paths"
    m = parse_claude_plugin(root, "claude-plugin/plugin.json").manifest
    assert m is not None
    assert sorted(c.name for c in m.of_type("command")) == ["custom-paths:custom-command",
                                                            "custom-paths:default-command"]
    assert sorted(c.matcher for c in m.of_type("hook")) == ["Read", "Write"]


def test_the_empty_array_hooks_file_is_a_clear_error() -> None:
    root = DATA / "anthropics__financial-services-plugins/equity-research"
    errors = [p for p in parse_claude_plugin(root, ".claude-plugin/plugin.json").problems if p.severity == "error"]
    assert [e.file for e in errors] == ["hooks/hooks.json"] and "found a JSON list" in errors[0].message


def test_sample_plugin_hook_types_events_and_matchers() -> None:
    root = DATA / "EveryInc__compound-engineering-plugin/tests/fixtures/sample-plugin"
    m = parse_claude_plugin(root, "claude-plugin/plugin.json").manifest
    assert m is not None
    hooks = m.of_type("hook")
    types = sorted({c.details["hook_type"] for c in hooks})
    assert types == ["agent", "command", "prompt"]
    not_run = [c for c in hooks if c.details["hook_type"] != "command"]
    assert all("not run by this app" in c.description for c in not_run) and len(not_run) == 2
    pre = [c for c in hooks if c.event == "before_tool_call"]
    assert [(c.matcher, c.timeout_ms) for c in pre] == [("Bash", 30_000), ("Bash", 60_000)]
    assert {c.event for c in hooks} >= {"tool_call_failed", "permission_request", "setup", "subagent_start"}


def test_manifest_less_plugin_folder_loads_as_a_layout() -> None:
    root = DATA / "anthropics__claude-plugins-official/plugins/session-report"
    result = parse_claude_layout(root)
    assert result.problems == [] and result.manifest is not None
    assert (result.manifest.id, result.manifest.format) == ("session-report", "claude-layout")
    assert [c.name for c in result.manifest.capabilities] == ["session-report:session-report"]


@pytest.mark.parametrize("rel", sorted(MARKDOWN))
def test_every_markdown_file_parses_leniently(rel: str) -> None:
    path = DATA / rel
    parse = parse_skill if path.name == "SKILL.md" else parse_command if "commands" in str(path.parent) \
        else parse_agent
    entry = parse(path)
    name, usable = MARKDOWN[rel]
    assert (entry.short_name, entry.usable) == (name, usable)
    if not usable:
        assert any(p.severity == "error" and "skipped" in p.message for p in entry.problems)
    else:
        assert entry.description
    assert isinstance(entry.to_json()["metadata"], dict)


@pytest.mark.parametrize("rel", sorted(CONFIGS))
def test_every_hooks_and_mcp_config_parses(rel: str) -> None:
    path = DATA / rel
    text = path.read_text(encoding="utf-8")
    caps, problems = (parse_hooks_json if path.name == "hooks.json" else parse_mcp_json)(text, rel)
    count, errors = CONFIGS[rel]
    assert (len(caps), sum(p.severity == "error" for p in problems)) == (count, errors)
