"""Skills, commands and agents: lenient front matter, namespacing, collisions, body on demand."""

from __future__ import annotations

from pathlib import Path

from aleph_gui.core.discovery import discover
from aleph_gui.core.paths import Locations
from aleph_gui.core.skills import (
    collect_skills,
    parse_agent,
    parse_command,
    parse_skill,
    split_front_matter,
    split_tool_list,
)

DEMOS = Path(__file__).resolve().parent.parent / "plugins_demo"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_front_matter_split_and_lenient_colons() -> None:
    fm = split_front_matter("---\nname: x\ndescription: Use when: the user asks\n---\n# Body\n")
    assert fm.meta == {"name": "x", "description": "Use when: the user asks"} and fm.problem == ""
    assert split_front_matter("# no header\n").meta is None
    assert "no closing" in split_front_matter("---\nname: x\n").problem
    assert "cannot be read" in split_front_matter("---\n{{{ bad\n  missing: \"x\"\n---\n").problem
    assert "expected key: value" in split_front_matter("---\n- a\n- b\n---\n").problem
    assert split_front_matter("\ufeff---\nname: bom\n---\n").meta == {"name": "bom"}


def test_allowed_tools_in_every_spelling() -> None:
    assert split_tool_list("Bash(git add:*), Bash(git status:*), Read") == [
        "Bash(git add:*)", "Bash(git status:*)", "Read"]
    assert split_tool_list("Read Grep Bash(ls -la:*)") == ["Read", "Grep", "Bash(ls -la:*)"]
    assert split_tool_list(["Read", "Glob"]) == ["Read", "Glob"]
    assert split_tool_list(None) == []


def test_skill_fields_and_body_on_demand(tmp_path: Path) -> None:
    path = write(tmp_path / "skills" / "pdf-tools" / "SKILL.md",
                 "---\nname: pdf-tools\ndescription: >\n  Fill PDF forms\n  and merge files.\nlicense: MIT\n"
                 "allowed-tools: Read Bash(pdftk:*)\nmetadata:\n  version: 2\n---\n# PDF tools\nStep one.\n")
    entry = parse_skill(path, namespace="docs", source="docs")
    assert (entry.kind, entry.name, entry.short_name, entry.usable) == ("skill", "docs:pdf-tools", "pdf-tools", True)
    assert entry.description == "Fill PDF forms and merge files." and entry.problems == []
    out = entry.to_json()
    assert out["allowed_tools"] == ["Read", "Bash(pdftk:*)"] and out["metadata"]["license"] == "MIT"
    assert "_short_name" not in out["metadata"]
    path.write_text(path.read_text() + "Step two, added later.\n")
    assert entry.body() == "# PDF tools\nStep one.\nStep two, added later.\n"  # read when asked


def test_skill_problems(tmp_path: Path) -> None:
    other = parse_skill(write(tmp_path / "folder-name" / "SKILL.md", "---\nname: other\ndescription: d\n---\n"))
    assert other.usable and "differs from its folder name" in other.problems[0].message
    nodesc = parse_skill(write(tmp_path / "nodesc" / "SKILL.md", "---\nname: nodesc\n---\n"))
    assert not nodesc.usable and "no 'description'" in nodesc.problems[0].message
    bare = parse_skill(write(tmp_path / "bare" / "SKILL.md", "# Title\ndescription: in the body\n"))
    assert not bare.usable and "no YAML front matter" in bare.problems[0].message


def test_commands_are_named_by_file_and_describe_themselves(tmp_path: Path) -> None:
    cmd = parse_command(write(tmp_path / "commands" / "review.md",
                              "---\ndescription: Review the diff\nargument-hint: [files]\nmodel: sonnet\n---\n"))
    assert (cmd.name, cmd.description, cmd.problems) == ("review", "Review the diff", [])
    assert cmd.to_json()["model"] == "sonnet"
    plain = parse_command(write(tmp_path / "commands" / "save.md", "# Context Save Tool\n\nSaves context.\n"))
    assert plain.usable and plain.name == "save" and plain.description == "Context Save Tool"


def test_agents(tmp_path: Path) -> None:
    agent = parse_agent(write(tmp_path / "agents" / "reviewer.md",
                              "---\nname: code-reviewer\ndescription: Reviews code\ntools: Read, Grep\n"
                              "model: inherit\ncolor: yellow\n---\nYou review code.\n"))
    assert (agent.name, agent.usable) == ("code-reviewer", True)
    assert agent.to_json()["allowed_tools"] == ["Read", "Grep"] and agent.meta["color"] == "yellow"


def test_collect_skills_from_folders_and_plugins_with_collisions(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "proj"
    write(home / "skills" / "notes" / "SKILL.md", "---\nname: notes\ndescription: user notes skill\n---\n")
    write(project / ".aleph" / "skills" / "notes" / "SKILL.md",
          "---\nname: notes\ndescription: project notes skill\n---\n")
    write(home / "skills" / "broken" / "SKILL.md", "---\n{{{\n---\n")
    plugins_dir = home / "plugins"
    plugins_dir.mkdir(parents=True)
    (plugins_dir / "writing-skills").symlink_to(DEMOS / "writing-skills")
    (plugins_dir / "guard").symlink_to(DEMOS / "claude-safety-guard")
    locations = Locations(home=home, project=project, builtin=None)
    entries = collect_skills(locations, discover(locations))
    names = [(e.kind, e.name, e.usable) for e in entries]
    assert ("skill", "writing-skills:plain-language", True) in names
    assert ("skill", "claude-safety-guard:safe-shell", True) in names
    assert ("command", "claude-safety-guard:check-command", True) in names
    assert ("agent", "claude-safety-guard:safety-reviewer", True) in names
    assert ("skill", "broken", False) in names
    notes = [e for e in entries if e.name == "notes"]
    assert [e.description for e in notes] == ["project notes skill", "user notes skill"]
    assert notes[0].problems == []
    assert "also provided by" in notes[1].problems[0].message and "keeps the name" in notes[1].problems[0].message
    plugin_entry = next(e for e in entries if e.name == "writing-skills:release-notes")
    assert plugin_entry.source == "writing-skills" and plugin_entry.to_json()["allowed_tools"] == ["Read", "Grep"]
