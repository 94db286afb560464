"""File permissions are compared, stored and shown by their canonical path (issue 13, finding 5).

Before the fix, paths were compared as text: an approved `granted/` widened to `granted/../` stayed
approved, and `/.`, `//` or `~/Documents/..` were shown as harmless folders while they give the
whole computer or the whole home folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.paths import Locations
from aleph_gui.core.scope import FileAccess, Permission, Scope, diff_scopes, is_covered


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder of our own, so `~` is known and nothing touches the real one."""
    home = tmp_path / "user-home"
    (home / "Documents").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


def files_manifest(mode: str, *paths: str) -> str:
    return ('[plugin]\nid = "files"\nname = "Files"\nversion = "1.0.0"\n[scope]\n'
            f'file_access = {{ mode = "{mode}", paths = {json.dumps(list(paths))} }}\n')


def requested(folder: Path) -> list[Permission]:
    result = load_plugin_folder(folder)
    assert result.manifest is not None, result.problems
    return [p for p in result.manifest.scope.permissions() if p.key.startswith("file:")]


async def test_an_approved_folder_widened_with_dotdot_is_reviewed_again(
        locations: Locations, make_plugin: Callable[..., Path]) -> None:
    folder = make_plugin("files", {"aleph.plugin.toml": files_manifest("read", "granted/"),
                                   "granted/note.md": "hi"})
    async with ExtensionManager(locations) as m:
        await m.grant("files")
        assert m.plugin("files").state == "enabled"
        (folder / "aleph.plugin.toml").write_text(files_manifest("read", "granted/../"))
        await m.discover()
        assert m.plugin("files").state == "needs_review"  # the approved version keeps running meanwhile
        diff = m.pending_review("files")
        assert diff is not None
        assert [(p.key, p.text) for p in diff.added] == [
            (f"file:read:{os.path.realpath(folder)}",
             f"read files in {os.path.realpath(folder)} (asked for as 'granted/../')")]


async def test_grants_are_stored_with_canonical_paths_and_a_moved_link_is_reviewed_again(
        locations: Locations, make_plugin: Callable[..., Path], user_home: Path, tmp_path: Path) -> None:
    notes = tmp_path / "elsewhere" / "notes"
    notes.mkdir(parents=True)
    folder = make_plugin("files", {"aleph.plugin.toml": files_manifest("read", "data")})
    (folder / "data").symlink_to(notes)
    async with ExtensionManager(locations) as m:
        await m.grant("files")
        grant = m.state.grant("files")
        assert grant is not None
        assert [p.key for p in grant.scope.permissions() if p.key.startswith("file:")] == [
            f"file:read:{os.path.realpath(notes)}"]
        # The link now points at the whole home folder: the same text asks for far more.
        (folder / "data").unlink()
        (folder / "data").symlink_to(user_home)
        await m.discover()
        assert m.plugin("files").state == "needs_review"
        diff = m.pending_review("files")
        assert diff is not None
        assert [(p.text, p.risk) for p in diff.added] == [
            ("read every file in your home folder (asked for as 'data')", "high")]


@pytest.mark.parametrize(("written", "mode", "text"), [
    ("/.", "read", "read any file on this computer (asked for as '/.')"),
    ("//", "read", "read any file on this computer (asked for as '//')"),
    ("~/Documents/..", "read", "read every file in your home folder (asked for as '~/Documents/..')"),
    ("~/x/..", "read_write", "read and change every file in your home folder (asked for as '~/x/..')"),
    ("~", "read", "read every file in your home folder"),
])
def test_requests_for_the_root_or_the_home_folder_say_so_in_high_risk(
        written: str, mode: str, text: str, user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_text(files_manifest(mode, written))
    (perm,) = requested(folder)
    assert (perm.text, perm.risk) == (text, "high")


def test_the_parent_of_the_home_folder_says_it_includes_the_home_folder(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_text(files_manifest("read", str(user_home.parent)))
    (perm,) = requested(folder)
    assert perm.risk == "high"
    assert perm.text == f"read every file in {os.path.realpath(user_home.parent)}, your whole home folder included"


def test_a_link_inside_the_plugin_folder_to_home_is_shown_as_home(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "cache").symlink_to(user_home)
    (folder / "aleph.plugin.toml").write_text(files_manifest("read", "cache"))
    (perm,) = requested(folder)
    assert perm.key == f"file:read:{os.path.realpath(user_home)}"
    assert (perm.text, perm.risk) == ("read every file in your home folder (asked for as 'cache')", "high")


def test_an_ordinary_folder_reads_as_before(user_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_text(files_manifest("read", "~/Documents/notes"))
    (perm,) = requested(folder)
    assert (perm.text, perm.risk) == ("read files in ~/Documents/notes", "medium")
    assert perm.key == f"file:read:{os.path.realpath(user_home)}/Documents/notes"


def test_comparisons_never_trust_the_text(user_home: Path) -> None:
    def files(mode: str, *paths: str) -> Scope:
        return Scope(file_access=FileAccess(mode=mode, paths=list(paths)))  # type: ignore[arg-type]

    base = user_home / "Documents"
    assert not is_covered(files("read", f"{base}/"), files("read", f"{base}/.."))
    assert not is_covered(files("read", f"{base}"), files("read", f"{base}//..//"))
    assert not is_covered(files("read", "granted/"), files("read", "granted/../"))  # no folder known: as text
    assert is_covered(files("read", f"{base}/"), files("read", f"{base}//a/./b"))
    assert is_covered(files("read_write", "~/Documents"), files("read", f"{base}/a"))
    diff = diff_scopes(files("read", "~/Documents"), files("read", "~/Documents/../"))
    assert [p.key for p in diff.added] == [f"file:read:{os.path.realpath(user_home)}"]


def test_runtimes_get_the_folders_that_were_reviewed(user_home: Path, tmp_path: Path) -> None:
    """What a runtime is handed: the canonical folder of each written path, relative ones inside the plugin."""
    folder = tmp_path / "plugin"
    (folder / "data").mkdir(parents=True)
    (folder / "home").symlink_to(user_home)
    (folder / "aleph.plugin.toml").write_text(files_manifest("read_write", "data", "home", "~/Documents//"))
    result = load_plugin_folder(folder)
    assert result.manifest is not None
    fa = result.manifest.scope.file_access
    real_home = os.path.realpath(user_home)
    assert fa.host_paths() == {"data": os.path.realpath(folder / "data"), "home": real_home,
                               "~/Documents//": f"{real_home}/Documents"}
    assert fa.canonical_paths() == sorted({os.path.realpath(folder / "data"), real_home, f"{real_home}/Documents"})
    assert Scope(file_access=FileAccess(mode="read")).file_access.canonical_paths() == ["/"]
