"""ExtensionManager: enable/disable/grant/revoke, review of widening updates, install/uninstall, safe mode."""

from __future__ import annotations

import asyncio
import threading
import zipfile
from pathlib import Path

import pytest
from manager_helpers import Recorder, manager_for, static_toml, write_plugin
from plugin_files import approve

from aleph_gui.core.discovery import discover
from aleph_gui.core.errors import PluginNotRunnable, UnknownPlugin
from aleph_gui.core.install import InstallError
from aleph_gui.core.paths import Locations
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home" / "plugins").mkdir(parents=True)
    return tmp_path / "home"


async def test_plugin_without_requests_runs_and_one_with_requests_waits_for_review(home: Path) -> None:
    write_plugin(home / "plugins", "plain", {"plugin.toml": static_toml("plain")})
    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv"))})
    rec = Recorder()
    async with manager_for(home) as m:
        m.subscribe(rec)
        assert m.plugin("plain").state == "enabled"
        assert m.is_loaded("plain")
        asker = m.plugin("asker")
        assert asker.state == "needs_review" and "grant asker" in asker.state_reason
        assert not m.is_loaded("asker")
        assert [p.key for p in m.pending_review("asker").added] == ["api:kv"]
        await m.grant("asker")
        assert m.plugin("asker").state == "enabled" and m.is_loaded("asker")
        assert any(e.type == "StateChanged" and e.id == "asker" and e.state == "enabled" for e in rec.events)


async def test_enable_disable_and_grants_survive_a_restart(home: Path) -> None:
    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv"))})
    write_plugin(home / "plugins", "plain", {"plugin.toml": static_toml("plain")})
    async with manager_for(home) as m:
        await m.grant("asker")
        await m.disable("plain")
        assert m.plugin("plain").state == "disabled" and not m.is_loaded("plain")
        assert m.registry.entries(plugin_id="plain") == []
    async with manager_for(home) as m:
        assert m.plugin("asker").state == "enabled"
        assert m.plugin("plain").state == "disabled"
        await m.enable("plain")
    db = StateDB(home / "state.db")
    assert db.enabled("plain") is True and db.grant("asker") is not None
    db.close()


async def test_revoke_unloads_and_asks_for_review_again(home: Path) -> None:
    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv"))})
    async with manager_for(home) as m:
        await m.grant("asker")
        assert m.registry.entries(plugin_id="asker")
        await m.revoke("asker")
        assert m.plugin("asker").state == "needs_review"
        assert m.registry.entries(plugin_id="asker") == []
        with pytest.raises(Exception, match="grant asker"):
            await m.call_tool("asker", "anything", {})


async def test_update_asking_for_more_keeps_old_version_until_granted(home: Path) -> None:
    folder = write_plugin(home / "plugins", "grow", {"plugin.toml": static_toml("grow", apis=("log", "kv"))})
    rec = Recorder()
    async with manager_for(home) as m:
        await m.grant("grow")
        m.subscribe(rec)
        (folder / "plugin.toml").write_text(static_toml("grow", version="2.0.0", apis=("log", "kv", "tools"),
                                                        tools=("new",)))
        info = await m.reload("grow")
        assert info.state == "needs_review" and "keeps running" in info.state_reason
        assert info.version == "1.0.0"  # the approved version is what runs
        assert [r.name for r in m.registry.entries(plugin_id="grow")] == ["grow-skill"]
        review = [e for e in rec.events if e.type == "ReviewRequired"]
        assert review and [p["key"] for p in review[-1].added] == ["api:tools"]
        assert "api:kv" in [p["key"] for p in review[-1].unchanged]
        await m.grant("grow")
        info = m.plugin("grow")
        assert info.state == "enabled" and info.version == "2.0.0"
        assert [r.name for r in m.registry.entries(plugin_id="grow")] == ["grow-new"]


async def test_narrower_update_applies_at_once(home: Path) -> None:
    folder = write_plugin(home / "plugins", "shrink", {"plugin.toml": static_toml("shrink", apis=("log", "kv"))})
    async with manager_for(home) as m:
        await m.grant("shrink")
        (folder / "plugin.toml").write_text(static_toml("shrink", version="1.1.0"))
        info = await m.reload("shrink")
        assert info.state == "enabled" and info.version == "1.1.0"


async def test_broken_update_keeps_old_version_and_shows_the_problem(home: Path) -> None:
    folder = write_plugin(home / "plugins", "fragile", {"plugin.toml": static_toml("fragile")})
    async with manager_for(home) as m:
        (folder / "plugin.toml").write_text("[plugin\nid = ")
        info = await m.reload("fragile")
        assert info.state == "enabled" and "previous version keeps running" in info.state_reason
        assert info.problems and info.problems[0].severity == "error"
        assert m.registry.entries(plugin_id="fragile")
        (folder / "plugin.toml").write_text(static_toml("fragile", version="1.0.1"))
        info = await m.reload("fragile")
        assert info.problems == [] and info.version == "1.0.1"


async def test_name_conflict_is_shown_on_both_plugins(home: Path) -> None:
    same = '\n[[capabilities]]\ntype = "command"\nname = "deploy"\ndescription = "x"\n'
    write_plugin(home / "plugins", "a-first", {"plugin.toml": static_toml("a-first", extra="") + same})
    write_plugin(home / "plugins", "b-second", {"plugin.toml": static_toml("b-second") + same})
    async with manager_for(home) as m:
        a, b = m.plugin("a-first"), m.plugin("b-second")
        assert a.conflicts and b.conflicts
        assert m.registry.owner("command", "deploy") == "a-first"
        await m.disable("a-first")
        assert m.registry.owner("command", "deploy") == "b-second"
        assert m.plugin("b-second").conflicts == []


async def test_safe_mode_turns_plugins_off_without_touching_saved_flags(home: Path) -> None:
    write_plugin(home / "plugins", "plain", {"plugin.toml": static_toml("plain")})
    async with manager_for(home, safe_mode=True) as m:
        info = m.plugin("plain")
        assert info.state == "disabled" and "safe mode" in info.state_reason
        assert not m.is_loaded("plain")
    db = StateDB(home / "state.db")
    assert db.enabled("plain") is None
    db.close()


def _zip(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return path


async def test_install_from_zip_and_folder_then_uninstall(home: Path, tmp_path: Path) -> None:
    archive = _zip(tmp_path / "zipped.zip", {"zipped/plugin.toml": static_toml("zipped")})
    src = write_plugin(tmp_path / "src", "folderly", {"plugin.toml": static_toml("folderly", apis=("log", "kv"))})
    async with manager_for(home) as m:
        info = await m.install(archive)
        assert info.id == "zipped" and info.state == "enabled" and (home / "plugins" / "zipped").is_dir()
        info = await m.install(src)
        assert info.state == "needs_review" and not m.is_loaded("folderly")  # no code before review
        with pytest.raises(InstallError, match="already installed"):
            await m.install(src)
        (src / "plugin.toml").write_text(static_toml("folderly", version="3.0.0", apis=("log", "kv")))
        info = await m.install(src, replace=True)
        assert info.version == "3.0.0"
        await m.grant("folderly")
        await m.uninstall("folderly")
        assert not (home / "plugins" / "folderly").exists()
        with pytest.raises(UnknownPlugin):
            m.plugin("folderly")
    db = StateDB(home / "state.db")
    assert db.grant("folderly") is None
    db.close()


async def test_plugins_installed_at_the_same_time_are_all_listed(
        home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping two folders on the window installs them concurrently; neither may vanish, even when
    the first install's discovery (made before the second folder arrived) would finish last."""
    first_found = threading.Event()
    later_done = threading.Event()
    calls: list[int] = []

    def discovery_that_finishes_late(locations: Locations) -> list:
        calls.append(1)
        found = discover(locations)
        if len(calls) == 1:
            first_found.set()
            later_done.wait(timeout=2)  # let a later discovery overtake this one, if one may run
        else:
            later_done.set()
        return found

    first = write_plugin(tmp_path / "src", "dropped-one", {"plugin.toml": static_toml("dropped-one")})
    second = write_plugin(tmp_path / "src", "dropped-two", {"plugin.toml": static_toml("dropped-two")})
    async with manager_for(home) as m:
        monkeypatch.setattr("aleph_gui.core.lifecycle.discover", discovery_that_finishes_late)

        async def second_install() -> None:
            await asyncio.to_thread(first_found.wait, 5)  # starts while the first discovery is out
            await m.install(second)

        await asyncio.gather(m.install(first), second_install())
        assert sorted(i.id for i in m.plugins()) == ["dropped-one", "dropped-two"]
        assert m.is_loaded("dropped-one") and m.is_loaded("dropped-two")


@pytest.mark.parametrize("bad_name", ["../evil/plugin.toml", "/abs/plugin.toml", "ok/../../evil.txt"])
async def test_install_refuses_zip_entries_that_escape(home: Path, tmp_path: Path, bad_name: str) -> None:
    archive = _zip(tmp_path / "bad.zip", {"good/plugin.toml": static_toml("good"), bad_name: "x"})
    async with manager_for(home) as m:
        with pytest.raises(InstallError, match="outside|absolute"):
            await m.install(archive)
        assert [i.id for i in m.plugins()] == []
    assert not (tmp_path / "evil").exists() and not (home / "evil").exists()
    assert not any(p.name.startswith(".install-") for p in (home / "plugins").iterdir())


async def test_install_refuses_an_invalid_plugin(home: Path, tmp_path: Path) -> None:
    src = write_plugin(tmp_path / "src", "broken", {"plugin.toml": "[plugin]\nid = 'Bad_Id'\n"})
    async with manager_for(home) as m:
        with pytest.raises(InstallError, match="not valid"):
            await m.install(src)
    assert not (home / "plugins" / "broken").exists()


async def test_builtin_plugin_cannot_be_uninstalled(tmp_path: Path) -> None:
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.paths import Locations

    builtin = tmp_path / "builtin"
    write_plugin(builtin, "core-tools", {"plugin.toml": static_toml("core-tools", apis=("log", "kv"))})
    async with ExtensionManager(Locations(home=tmp_path / "home", project=None, builtin=builtin)) as m:
        assert m.plugin("core-tools").state == "enabled"  # builtin = pre-approved
        with pytest.raises(PluginNotRunnable, match="cannot be uninstalled"):
            await m.uninstall("core-tools")
        await m.disable("core-tools")
        assert m.plugin("core-tools").state == "disabled"


async def test_project_plugin_overrides_user_plugin(home: Path, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    write_plugin(home / "plugins", "dup", {"plugin.toml": static_toml("dup", version="1.0.0")})
    write_plugin(project / ".aleph" / "plugins", "dup", {"plugin.toml": static_toml("dup", version="9.0.0")})
    async with manager_for(home, project=project) as m:
        states = sorted((i.origin, i.state) for i in m.plugins())
        assert states == [("project", "needs_review"), ("user", "overridden")]  # the project is not trusted
        assert m.plugin("dup").version == "9.0.0"
        await m.trust()
        states = sorted((i.origin, i.state) for i in m.plugins())
        assert states == [("project", "enabled"), ("user", "overridden")]


async def test_grant_of_a_narrower_scope_keeps_review_pending(home: Path) -> None:
    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv", "tools"))})
    async with manager_for(home) as m:
        await m.grant("asker", Scope(allowed_apis=["log", "kv"]))
        assert m.plugin("asker").state == "needs_review"
        assert [p.key for p in m.pending_review("asker").added] == ["api:tools"]


async def test_hook_calls_reach_subscribers_and_the_audit_log(home: Path) -> None:
    import shutil

    demo = Path(__file__).resolve().parents[1] / "plugins_demo" / "wasm-wat-text-tools"
    approve(home, shutil.copytree(demo, home / "plugins" / "wasm-wat-text-tools"))
    rec = Recorder()
    async with manager_for(home) as m:
        m.subscribe(rec)
        result = await m.fire("message_received", {"text": "spam again"})
        assert result.decision == "block"
        traced = [e for e in rec.events if e.type == "HookTraced"]
        assert [(e.id, e.record.decision) for e in traced] == [("wasm-wat-text-tools", "block")]
    db = StateDB(home / "state.db")
    rows = db.audit(plugin_id="wasm-wat-text-tools")
    db.close()
    assert [(r.event, r.decision) for r in rows] == [("message_received", "block")]


async def test_changes_made_by_the_cli_show_up_in_a_running_manager(home: Path) -> None:
    import subprocess
    import sys

    write_plugin(home / "plugins", "asker", {"plugin.toml": static_toml("asker", apis=("log", "kv"))})
    rec = Recorder()
    async with manager_for(home) as m:
        m.subscribe(rec)
        assert m.plugin("asker").state == "needs_review"
        cli = [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin",
               "--project", str(home / "none")]
        subprocess.run([*cli, "grant", "asker"], check=True, capture_output=True)
        await rec.wait_for(lambda: m.plugin("asker").state == "enabled" and m.is_loaded("asker"))
        subprocess.run([*cli, "disable", "asker"], check=True, capture_output=True)
        await rec.wait_for(lambda: m.plugin("asker").state == "disabled" and not m.is_loaded("asker"))
        assert [e.state for e in rec.events if e.type == "StateChanged"] == ["enabled", "disabled"]


async def test_denying_an_update_keeps_the_approved_version_and_denying_a_new_plugin_turns_it_off(
        home: Path) -> None:
    folder = write_plugin(home / "plugins", "grow", {"plugin.toml": static_toml("grow", apis=("log", "kv"))})
    write_plugin(home / "plugins", "newbie", {"plugin.toml": static_toml("newbie", apis=("log", "kv"))})
    async with manager_for(home) as m:
        await m.grant("grow")
        (folder / "plugin.toml").write_text(static_toml("grow", version="2.0.0", apis=("log", "kv", "tools")))
        assert (await m.reload("grow")).state == "needs_review"
        info = await m.deny("grow")
        assert info.state == "enabled" and info.version == "1.0.0" and m.pending_review("grow") is None
        assert (await m.deny("newbie")).state == "disabled"
        assert m.state.grant("newbie") is None


async def test_safe_mode_can_be_switched_at_run_time(home: Path) -> None:
    write_plugin(home / "plugins", "plain", {"plugin.toml": static_toml("plain")})
    async with manager_for(home) as m:
        await m.set_safe_mode(True)
        assert m.plugin("plain").state == "disabled" and not m.is_loaded("plain")
        await m.set_safe_mode(False)
        assert m.plugin("plain").state == "enabled" and m.is_loaded("plain")
    db = StateDB(home / "state.db")
    assert db.enabled("plain") is None
    db.close()


async def test_hooks_of_a_plugin_without_code_are_traced_as_skipped(home: Path) -> None:
    hook = '\n[[capabilities]]\ntype = "hook"\nevent = "message_received"\nhandler = "on_message"\n'
    write_plugin(home / "plugins", "declares", {"plugin.toml": static_toml("declares") + hook})
    async with manager_for(home) as m:
        result = await m.fire("message_received", {"text": "hi"})
        assert result.decision == "continue" and result.data == {"text": "hi"}
        assert [(t.plugin, t.decision) for t in result.trace] == [("declares", "skipped")]
        assert "static plugin" in result.trace[0].error
