"""The AssemblyScript demo (wasm-notes): real PDK build, WASI file reads inside the grant only,
aleph_log and the kv API — directly and through the ExtensionManager."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import OWNER
from wasm_support import NOTES_DEMO, ensure_notes_built, files_scope, load_demo, make_runtime

from aleph_gui.core.errors import PluginCallError, ScopeDenied
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB


@pytest.fixture(scope="session")
def notes_wasm() -> Path:
    return ensure_notes_built()


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake $HOME with ~/Documents/notes (granted) and a secret next to it (not granted)."""
    home = tmp_path / "user"
    notes = home / "Documents" / "notes"
    notes.mkdir(parents=True)
    (notes / "groceries.md").write_text("milk\neggs and bread\n")
    (notes / "ideas.txt").write_text("build a plugin")
    (notes / "image.png").write_bytes(b"\x89PNG")
    (notes / "drafts").mkdir()
    (home / "secret.txt").write_text("the secret")
    os.symlink(home / "secret.txt", notes / "shortcut.md")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "aleph" / "state.db")
    yield db
    db.close()


async def _runtime(state: StateDB, scope: Scope | None = None):  # type: ignore[no-untyped-def]
    man = load_demo(NOTES_DEMO)
    h = make_runtime(NOTES_DEMO, man, state, scope=scope)
    await h.runtime.start()
    return h


async def test_lists_reads_and_counts_notes(notes_wasm: Path, user_home: Path, state: StateDB) -> None:
    h = await _runtime(state)
    listing = await h.runtime.call_tool("list_notes", {})
    # symlinks, folders and non-note files are not listed
    assert listing == {"folder": "~/Documents/notes", "notes": ["groceries.md", "ideas.txt"]}
    note = await h.runtime.call_tool("read_note", {"name": "groceries.md"})
    assert note == {"name": "groceries.md", "text": "milk\neggs and bread\n"}
    await h.runtime.call_tool("read_note", {"name": "groceries.md"})
    stats = await h.runtime.call_tool("note_stats", {"name": "groceries.md"})
    assert stats == {"name": "groceries.md", "lines": 2, "words": 4, "chars": 20, "reads": 2}
    # the read counter lives in this plugin's own kv rows, through aleph_kv_set
    assert state.kv_get("wasm-notes", OWNER, "reads:groceries.md") == b"2"
    assert ("info", "read note groceries.md") in h.logs and ("info", "listed 2 notes") in h.logs


@pytest.mark.parametrize("name", ["../../secret.txt", "shortcut.md", "ABSOLUTE", "drafts/../../../secret.txt"])
async def test_notes_outside_the_grant_are_refused(notes_wasm: Path, user_home: Path, state: StateDB,
                                                   name: str) -> None:
    h = await _runtime(state)
    if name == "ABSOLUTE":
        name = str(user_home / "secret.txt")
    with pytest.raises(PluginCallError, match="outside the granted notes folder: refused by the sandbox") as err:
        await h.runtime.call_tool("read_note", {"name": name})
    assert "the secret" not in str(err.value)
    assert state.kv_get("wasm-notes", OWNER, f"reads:{name}") is None


async def test_without_the_file_grant_there_is_no_notes_folder(notes_wasm: Path, user_home: Path,
                                                               state: StateDB) -> None:
    h = await _runtime(state, scope=Scope(allowed_apis=["log", "kv"]))
    with pytest.raises(PluginCallError, match="no notes folder was granted to this plugin"):
        await h.runtime.call_tool("list_notes", {})


async def test_a_narrower_grant_is_what_the_plugin_sees(notes_wasm: Path, user_home: Path, state: StateDB) -> None:
    drafts = user_home / "Documents" / "notes" / "drafts"
    (drafts / "d.md").write_text("draft")
    scope = files_scope("read", str(drafts))
    scope.allowed_apis = ["log", "kv"]
    h = await _runtime(state, scope=scope)
    assert (await h.runtime.call_tool("list_notes", {}))["notes"] == ["d.md"]
    with pytest.raises(PluginCallError, match="refused by the sandbox"):
        await h.runtime.call_tool("read_note", {"name": "../groceries.md"})


async def test_without_the_kv_grant_the_module_does_not_load(notes_wasm: Path, user_home: Path,
                                                            state: StateDB) -> None:
    with pytest.raises(ScopeDenied, match="not granted the 'kv' API"):
        await _runtime(state, scope=files_scope("read", "~/Documents/notes"))


async def test_through_the_manager_after_the_user_grants_it(notes_wasm: Path, user_home: Path,
                                                            tmp_path: Path) -> None:
    home = tmp_path / "aleph-home"
    shutil.copytree(NOTES_DEMO, home / "plugins" / "wasm-notes",
                    ignore=shutil.ignore_patterns("node_modules", "assembly"))
    manager = ExtensionManager(Locations(home=home, project=tmp_path / "project", builtin=None))
    await manager.start()
    try:
        with pytest.raises(ScopeDenied, match="aleph-ext grant wasm-notes"):
            await manager.call_tool("wasm-notes", "list_notes", {})
        await manager.grant("wasm-notes")
        assert await manager.call_tool("wasm-notes", "read_note", {"name": "ideas.txt"}) == \
            {"name": "ideas.txt", "text": "build a plugin"}
    finally:
        await manager.stop()
