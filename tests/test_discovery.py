"""Discovery over project / user / builtin, monorepos, hidden folders, and nothing dropped silently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aleph_gui.core.discovery import discover, plugin_folders
from aleph_gui.core.paths import Locations

TOML = '[plugin]\nid = "{id}"\nversion = "1.0.0"\n'


def ids(locations: Locations) -> list[tuple[str, str]]:
    return [(d.id, d.origin) for d in discover(locations)]


def test_each_location_in_precedence_order(tmp_path: Path, locations: Locations,
                                           make_plugin: Callable[..., Path]) -> None:
    make_plugin("u", {"plugin.toml": TOML.format(id="u")})
    make_plugin("p", {"plugin.toml": TOML.format(id="p")}, origin="project")
    builtin = tmp_path / "builtin"
    (builtin / "b").mkdir(parents=True)
    (builtin / "b" / "plugin.toml").write_text(TOML.format(id="b"))
    found = ids(Locations(home=locations.home, project=locations.project, builtin=builtin))
    assert found == [("p", "project"), ("u", "user"), ("b", "builtin")]


def test_missing_locations_are_fine(tmp_path: Path) -> None:
    assert discover(Locations(home=tmp_path / "nowhere", project=None, builtin=None)) == []


def test_monorepo_one_level_down(locations: Locations, make_plugin: Callable[..., Path]) -> None:
    make_plugin("suite/alpha", {"plugin.toml": TOML.format(id="alpha")})
    make_plugin("suite/beta", {"aleph.plugin.json": {"plugin": {"id": "beta", "version": "1.0.0"}}})
    make_plugin("suite/docs", {"README.md": "not a plugin"})
    assert ids(locations) == [("alpha", "user"), ("beta", "user")]
    assert [p.name for p in plugin_folders(locations.user_plugins)] == ["alpha", "beta"]


def test_hidden_folders_are_skipped(locations: Locations, make_plugin: Callable[..., Path]) -> None:
    make_plugin(".trash", {"plugin.toml": TOML.format(id="trash")})
    make_plugin("suite/.git", {"plugin.toml": TOML.format(id="git")})
    make_plugin("suite/real", {"plugin.toml": TOML.format(id="real")})
    assert ids(locations) == [("real", "user")]


def test_folder_without_manifest_is_listed_as_invalid(locations: Locations,
                                                      make_plugin: Callable[..., Path]) -> None:
    make_plugin("Just Files", {"notes.txt": "hello"})
    (found,) = discover(locations)
    assert found.id == "just-files" and found.manifest is None and not found.valid
    assert "no plugin manifest found" in found.problems[0].message


def test_unreadable_manifest_keeps_the_id_it_declares(locations: Locations,
                                                      make_plugin: Callable[..., Path]) -> None:
    make_plugin("folder-name", {"plugin.toml": '[plugin]\nid = "declared"\nversion = 5\n'})
    (found,) = discover(locations)
    assert found.id == "declared" and not found.valid


def test_mixed_formats_side_by_side(locations: Locations, make_plugin: Callable[..., Path]) -> None:
    make_plugin("a", {"plugin.toml": TOML.format(id="a")})
    make_plugin("b", {"package.json": {"name": "b", "version": "1.0.0", "aleph": {}}})
    make_plugin("c", {".claude-plugin/plugin.json": {"name": "c", "version": "1.0.0"}})
    make_plugin("d", {".mcp.json": {"mcpServers": {"s": {"command": "python3"}}}})
    make_plugin("e", {"agents/helper.md": "---\nname: helper\ndescription: Helps\n---\nHelp."})
    assert [(d.id, d.format) for d in discover(locations)] == [
        ("a", "aleph-toml"), ("b", "package-json"), ("c", "claude"), ("d", "mcp-json"), ("e", "claude-layout")]
