"""`aleph-ext init` scaffolds plugins that validate and run."""

from __future__ import annotations

from pathlib import Path

import pytest
from manager_helpers import manager_for

from aleph_gui.core.errors import AlephError
from aleph_gui.core.scaffold import create_plugin


@pytest.mark.parametrize(("kind", "tool", "args", "expected"), [
    ("wasm", "echo", {"a": 1}, {"a": 1}),
    ("nodejs", "greet", {"name": "Ada"}, {"greeting": "Hello, Ada!"}),
])
async def test_scaffolded_code_plugins_validate_and_answer(tmp_path: Path, kind: str, tool: str,
                                                           args: dict, expected: dict) -> None:
    home = tmp_path / "home"
    folder = create_plugin(f"My {kind} Tool", kind=kind, parent=home / "plugins")
    assert folder.name == f"my-{kind}-tool"
    async with manager_for(home) as m:
        info = m.plugin(folder.name)
        # Its code runs (a Node.js process, a WASM module): reviewed even when it asks for nothing else.
        assert info.problems == [] and info.state == "needs_review"
        await m.grant(folder.name)
        assert await m.call_tool(folder.name, tool, args) == expected
        result = await m.fire("message_received", {"text": "hi"})
        assert result.decision == "continue" and [t.plugin for t in result.trace] == [folder.name]


async def test_scaffolded_static_plugin_lists_its_skill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = create_plugin("notes-helper", kind="static", parent=home / "plugins")
    assert (folder / "skills" / "notes-helper-guide" / "SKILL.md").is_file()
    async with manager_for(home) as m:
        info = m.plugin("notes-helper")
        assert info.state == "enabled" and info.problems == []
        assert [c["name"] for c in info.capabilities] == ["notes-helper-guide"]
    from aleph_gui.core.discovery import discover
    from aleph_gui.core.paths import Locations
    from aleph_gui.core.skills import collect_skills

    locations = Locations(home=home, project=None, builtin=None)
    names = [e.to_json()["name"] for e in collect_skills(locations, discover(locations))]
    assert names == ["notes-helper:notes-helper-guide"]


def test_init_refuses_to_overwrite_and_bad_names(tmp_path: Path) -> None:
    create_plugin("taken", parent=tmp_path)
    with pytest.raises(AlephError, match="already exists"):
        create_plugin("taken", parent=tmp_path)
    with pytest.raises(AlephError, match="cannot be turned into a plugin id"):
        create_plugin("!!!", parent=tmp_path)
