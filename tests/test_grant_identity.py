"""A grant belongs to a plugin's identity — origin, resolved folder, kind, entry and the approved code —
not to an id string; project plugins run only once their project folder is trusted (issue 13, finding 2
and 3). Each test tries the take-over for real."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from manager_helpers import manager_for

from aleph_gui.core.errors import ReviewRequired

KV_WAT = Path(__file__).parent / "data" / "wasm" / "kv.wat"


def kv_plugin(parent: Path, folder: str, plugin_id: str = "notes", version: str = "1.0.0") -> Path:
    """A WASM plugin that keeps its input in its kv store (`set`) and reads it back (`get`)."""
    root = parent / folder
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(KV_WAT, root / "kv.wat")
    (root / "aleph.plugin.toml").write_text(
        f'[plugin]\nid = "{plugin_id}"\nversion = "{version}"\nkind = "wasm"\nentry = "kv.wat"\n'
        '[[capabilities]]\ntype = "tool"\nname = "set"\n[[capabilities]]\ntype = "tool"\nname = "get"\n'
        '[scope]\nallowed_apis = ["log", "kv"]\n')
    return root


async def test_a_project_copy_of_an_approved_plugin_neither_runs_nor_reads_its_data(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    kv_plugin(home / "plugins", "notes")
    async with manager_for(home) as m:
        await m.grant("notes")
        await m.call_tool("notes", "set", {"secret": "the user's private note"})
    impostor = kv_plugin(project / ".aleph" / "plugins", "notes")
    async with manager_for(home, project) as m:
        info = m.plugin("notes")
        assert info.origin == "project" and info.state == "needs_review" and not info.runnable
        assert "trust" in info.state_reason
        with pytest.raises(ReviewRequired):
            await m.call_tool("notes", "get", {})
        await m.trust()  # trusting the folder is not approving this plugin
        info = m.plugin("notes")
        assert info.state == "needs_review"
        assert f"not for this project plugin in {impostor.resolve()}" in info.state_reason
        with pytest.raises(ReviewRequired):
            await m.call_tool("notes", "get", {})
        # Even approved, the project's plugin starts with data of its own: the kv rows belong to the
        # plugin that wrote them, not to the id.
        await m.grant("notes")
        assert await m.call_tool("notes", "get", {}) is None
        await m.call_tool("notes", "set", {"project": "its own"})
    shutil.rmtree(project / ".aleph")
    async with manager_for(home) as m:  # approving the project's copy left the user's approved, with its data
        assert m.plugin("notes").state == "enabled"
        assert await m.call_tool("notes", "get", {}) == {"secret": "the user's private note"}


async def test_a_plugin_renaming_itself_to_an_approved_id_does_not_take_its_grant(tmp_path: Path) -> None:
    home = tmp_path / "home"
    kv_plugin(home / "plugins", "zz-notes")
    async with manager_for(home) as m:
        await m.grant("notes")
        assert m.plugin("notes").state == "enabled"
    kv_plugin(home / "plugins", "aa-evil", plugin_id="notes")  # sorts first: it is the one listed
    async with manager_for(home) as m:
        info = m.plugin("notes")
        assert info.path.name == "aa-evil"
        assert info.state == "needs_review" and "your approval was for the user plugin in" in info.state_reason
        with pytest.raises(ReviewRequired):
            await m.call_tool("notes", "get", {})


async def test_install_replace_with_other_code_is_reviewed_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "plugins").mkdir(parents=True)
    original = kv_plugin(tmp_path / "src", "notes")
    async with manager_for(home) as m:
        await m.install(original)
        await m.grant("notes")
        assert m.plugin("notes").state == "enabled"
        other = kv_plugin(tmp_path / "other", "notes", version="1.0.1")
        (other / "kv.wat").write_text((other / "kv.wat").read_text() + "\n;; someone else's code\n")
        info = await m.install(other, replace=True)
        assert info.state == "needs_review" and "its code was replaced by an install" in info.state_reason
        with pytest.raises(ReviewRequired):
            await m.call_tool("notes", "get", {})
        assert (await m.grant("notes")).state == "enabled"  # reviewing it again lets it run


async def test_switching_kind_with_the_same_scope_is_reviewed_again(tmp_path: Path) -> None:
    home = tmp_path / "home"
    root = kv_plugin(home / "plugins", "notes")
    async with manager_for(home) as m:
        await m.grant("notes")
        (root / "index.js").write_text("module.exports = { register(api) {} };\n")
        manifest = root / "aleph.plugin.toml"
        manifest.write_text(manifest.read_text().replace('kind = "wasm"\nentry = "kv.wat"',
                                                         'kind = "nodejs"\nentry = "index.js"'))
        info = await m.reload("notes")
        assert info.state == "needs_review" and info.kind == "wasm"  # the approved WASM version keeps running
        assert "changed from a wasm plugin to a nodejs plugin" in info.state_reason
        assert m.pending_review("notes") is not None


async def test_a_code_only_change_loads_but_says_so(tmp_path: Path) -> None:
    home = tmp_path / "home"
    root = kv_plugin(home / "plugins", "notes")
    async with manager_for(home) as m:
        await m.grant("notes")
        assert m.plugin("notes").approval_note == ""
        (root / "kv.wat").write_text((root / "kv.wat").read_text() + "\n;; edited\n")
        info = await m.reload("notes")
        assert info.state == "enabled"
        assert (await m.inspect("notes")).approval_note.startswith("its code changed since you approved it on ")


async def test_uninstalling_a_project_copy_keeps_your_own_copy_approved_with_its_data(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    kv_plugin(home / "plugins", "notes")
    async with manager_for(home) as m:
        await m.grant("notes")
        await m.call_tool("notes", "set", {"secret": "the user's private note"})
    kv_plugin(project / ".aleph" / "plugins", "notes")
    async with manager_for(home, project) as m:
        await m.trust()
        await m.grant("notes")
        await m.call_tool("notes", "set", {"project": "its own"})
        await m.uninstall("notes")  # the project's copy, the one listed
        info = m.plugin("notes")
        assert info.origin == "user" and info.state == "enabled"
        assert await m.call_tool("notes", "get", {}) == {"secret": "the user's private note"}
