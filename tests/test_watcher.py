"""Hot reload end to end with real files: add, edit, break, fix, delete."""

from __future__ import annotations

import shutil
from pathlib import Path

from manager_helpers import Recorder, manager_for, static_toml, write_plugin


async def test_watcher_follows_add_edit_break_fix_delete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plugins = home / "plugins"
    plugins.mkdir(parents=True)
    rec = Recorder()
    m = manager_for(home, watch=True)
    m.subscribe(rec)
    await m.start()
    try:
        def state_of(pid: str) -> tuple[str, str] | None:
            try:
                info = m.plugin(pid)
            except Exception:
                return None
            return info.state, info.version

        folder = write_plugin(plugins, "live", {"plugin.toml": static_toml("live")})
        await rec.wait_for(lambda: state_of("live") == ("enabled", "1.0.0"))
        assert "PluginAdded" in rec.types("live")

        (folder / "plugin.toml").write_text(static_toml("live", version="1.1.0"))
        await rec.wait_for(lambda: state_of("live") == ("enabled", "1.1.0"))

        (folder / "plugin.toml").write_text("[plugin]\nid = 'Broken Id'\n")
        await rec.wait_for(lambda: bool(m.plugin("live").problems))
        info = m.plugin("live")
        assert info.state == "enabled" and info.version == "1.1.0"  # old version keeps running
        assert "ProblemReported" in rec.types("live")

        (folder / "plugin.toml").write_text(static_toml("live", version="1.2.0"))
        await rec.wait_for(lambda: state_of("live") == ("enabled", "1.2.0") and not m.plugin("live").problems)

        (folder / "plugin.toml").write_text(static_toml("live", version="1.3.0", apis=("log", "kv")))
        await rec.wait_for(lambda: m.plugin("live").state == "needs_review")
        assert m.plugin("live").version == "1.2.0"
        assert "ReviewRequired" in rec.types("live")

        shutil.rmtree(folder)
        await rec.wait_for(lambda: state_of("live") is None)
        assert "PluginRemoved" in rec.types("live")
        assert m.registry.entries(plugin_id="live") == []
    finally:
        await m.stop()


async def test_editor_style_save_is_one_reload(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = write_plugin(home / "plugins", "ed", {"plugin.toml": static_toml("ed")})
    rec = Recorder()
    m = manager_for(home, watch=True)
    await m.start()
    m.subscribe(rec)
    try:
        # save to a temp file, move the old one away, rename the new one in, delete the backup
        tmp = folder / "plugin.toml.tmp"
        tmp.write_text(static_toml("ed", version="2.0.0"))
        (folder / "plugin.toml").rename(folder / "plugin.toml~")
        tmp.rename(folder / "plugin.toml")
        (folder / "plugin.toml~").unlink()
        await rec.wait_for(lambda: m.plugin("ed").version == "2.0.0")
        assert "PluginRemoved" not in rec.types("ed")
        assert m.plugin("ed").state == "enabled"
    finally:
        await m.stop()


async def test_plugin_locations_created_after_start_are_watched(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    rec = Recorder()
    m = manager_for(home, project, watch=True)
    m.subscribe(rec)
    await m.start()
    try:
        assert not (project / ".aleph").exists() and m.plugins() == []
        folder = write_plugin(project / ".aleph" / "plugins", "late", {"plugin.toml": static_toml("late")})
        await rec.wait_for(lambda: any(i.id == "late" for i in m.plugins()))
        assert m.plugin("late").origin == "project"
        # the new location is watched from now on: an edit is picked up like anywhere else
        (folder / "plugin.toml").write_text(static_toml("late", version="2.0.0"))
        await rec.wait_for(lambda: m.plugin("late").version == "2.0.0")
    finally:
        await m.stop()
