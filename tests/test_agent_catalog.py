"""What agents see: tool names an MCP client (and Claude) accepts, clashes resolved without losing a tool, and
skills and commands as prompts with the arguments their front matter declares."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from aleph_gui.core.skills import parse_command, parse_skill
from aleph_gui.host.catalog import (
    MAX_NAME,
    agent_prompts,
    agent_tools,
    missing_arguments,
    prompt_arguments,
    render_prompt,
)

CLAUDE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,52}$")  # 64 minus Claude Code's "mcp__aleph__"


def spec(plugin: str, name: str, source: str = "manifest") -> SimpleNamespace:
    return SimpleNamespace(plugin=plugin, name=name, description=f"{name} of {plugin}",
                           input_schema={"type": "object"}, source=source)


def test_a_tool_keeps_its_name_until_another_plugin_has_the_same_one() -> None:
    tools = agent_tools([spec("text-tools", "uppercase"), spec("weather", "forecast")], lambda name: None)
    assert [(t["name"], t["plugin"], t["tool"]) for t in tools] == [
        ("uppercase", "text-tools", "uppercase"), ("forecast", "weather", "forecast")]


def test_on_a_clash_the_registry_owner_keeps_the_name_and_the_other_is_prefixed_never_dropped() -> None:
    specs = [spec("alpha", "search"), spec("beta", "search"), spec("gamma", "search", "mcp:docs")]
    tools = agent_tools(specs, lambda name: "beta" if name == "search" else None)
    assert {t["name"]: t["plugin"] for t in tools} == {"alpha__search": "alpha", "search": "beta",
                                                        "gamma__search": "gamma"}


def test_names_fit_claude_and_mcp_and_stay_unique() -> None:
    long_id = "a-plugin-with-a-really-quite-long-identifier-indeed"
    specs = [spec(long_id, "summarise everything.now"), spec("other", "summarise everything.now"),
             spec("x", "a.b"), spec("x", "a_b"), spec("ünï", "çafé")]
    tools = agent_tools(specs, lambda name: "other")
    names = [t["name"] for t in tools]
    assert all(CLAUDE_NAME.match(n) for n in names), names
    assert len(set(names)) == len(names) == 5
    assert max(len(n) for n in names) <= MAX_NAME
    assert "summarise_everything_now" in names  # the owner keeps the (cleaned) name


def test_a_schema_that_is_not_an_object_schema_becomes_one() -> None:
    odd = SimpleNamespace(plugin="p", name="t", description="", input_schema={"properties": {"a": {}}}, source="x")
    assert agent_tools([odd], lambda name: None)[0]["input_schema"] == {"properties": {"a": {}}, "type": "object"}


def test_arguments_come_from_argument_hint_or_arguments() -> None:
    assert [a.to_json() for a in prompt_arguments({"argument-hint": "<file or snippet> [focus]"})] == [
        {"name": "file_or_snippet", "description": "file or snippet", "required": True},
        {"name": "focus", "description": "focus", "required": False}]
    assert [a.name for a in prompt_arguments({"argument-hint": "the branch to review"})] == ["arguments"]
    assert [a.to_json() for a in prompt_arguments({"arguments": [{"name": "pr", "description": "PR number",
                                                                  "required": True}, "priority"]})] == [
        {"name": "pr", "description": "PR number", "required": True},
        {"name": "priority", "description": "", "required": False}]
    assert prompt_arguments({"description": "no arguments"}) == []


def test_rendering_fills_arguments_like_claude_code() -> None:
    declared = [{"name": "pr", "description": "", "required": True}, {"name": "priority", "description": "",
                                                                       "required": False}]
    assert render_prompt("Review $ARGUMENTS now", declared, {"pr": "42", "priority": "high"}) == \
        "Review 42 high now"
    assert render_prompt("PR $1 at ${priority}", declared, {"pr": "7", "priority": "low"}) == "PR 7 at low"
    assert render_prompt("Summarise the thread.\n", declared, {"pr": "9"}) == \
        "Summarise the thread.\n\nARGUMENTS: 9\n"
    assert render_prompt("Cost: $5, ${HOME}", declared, {}) == "Cost: $5, ${HOME}"
    assert missing_arguments(declared, {"priority": "high"}) == ["pr"]


def test_skills_and_commands_of_running_plugins_are_prompts_agents_and_off_plugins_are_not(tmp_path: Path) -> None:
    def write(rel: str, text: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    command = parse_command(write("on/commands/review.md", "---\ndescription: Review a PR\nargument-hint: <pr>\n---\n"
                                                           "Review $ARGUMENTS.\n"), namespace="on", source="on")
    skill = parse_skill(write("on/skills/tone/SKILL.md", "---\nname: tone\ndescription: Tone\n---\nBe kind.\n"),
                        namespace="on", source="on")
    agent = parse_skill(write("on/agents/x/SKILL.md", "---\nname: x\ndescription: X\n---\nx\n"),
                        namespace="on", source="on")
    agent.kind = "agent"
    off = parse_command(write("off/commands/review.md", "---\ndescription: Another review\n---\nHi\n"),
                        namespace="off", source="off")
    plugins = [SimpleNamespace(id="on", state="enabled"), SimpleNamespace(id="off", state="disabled")]
    prompts = agent_prompts([command, skill, agent, off], plugins)
    assert [(p["name"], p["skill"], p["kind"]) for p in prompts] == [("review", "on:review", "command"),
                                                                      ("tone", "on:tone", "skill")]
    assert prompts[0]["arguments"] == [{"name": "pr", "description": "pr", "required": True}]
    plugins[1].state = "enabled"
    names = [p["name"] for p in agent_prompts([command, skill, off], plugins)]
    assert names == ["review", "tone", "off__review"]
