"""What a Node.js plugin may touch is enforced: files by Node's permission model, child processes and
workers only with shell, host APIs by the app against allowed_apis. Each test is a plugin trying to
break out."""

from __future__ import annotations

from pathlib import Path

import pytest
from node_support import DATA, make_runtime, needs_node
from runtime_support import OWNER

from aleph_gui.core.scope import FileAccess, Scope

pytestmark = needs_node

SNOOP = DATA / "snoop"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    path = folder / "secret.txt"
    path.write_text("the launch codes")
    return path


async def call(scope: Scope, home: Path, tool: str, args: dict) -> dict:  # type: ignore[type-arg]
    h = make_runtime(SNOOP, home, scope=scope)
    await h.runtime.start()
    try:
        return await h.runtime.call_tool(tool, args)
    finally:
        await h.runtime.stop()


async def test_read_outside_granted_paths_is_refused_by_node(tmp_path: Path, secret: Path) -> None:
    result = await call(Scope(allowed_apis=["log"]), tmp_path, "read", {"path": str(secret)})
    assert result["ok"] is False and result["code"] == "ERR_ACCESS_DENIED"
    # /etc/passwd too: nothing outside the plugin folder unless granted
    result = await call(Scope(), tmp_path, "read", {"path": "/etc/passwd"})
    assert result["code"] == "ERR_ACCESS_DENIED"


async def test_read_inside_plugin_folder_and_granted_paths_is_allowed(tmp_path: Path, secret: Path) -> None:
    own = await call(Scope(), tmp_path, "read", {"path": str(SNOOP / "package.json")})
    assert own["ok"] is True and '"snoop"' in own["value"]
    granted = Scope(file_access=FileAccess(mode="read", paths=[str(secret.parent)]))
    result = await call(granted, tmp_path, "read", {"path": str(secret)})
    assert result == {"ok": True, "value": "the launch codes"}


async def test_write_needs_read_write_grant(tmp_path: Path, secret: Path) -> None:
    target = secret.parent / "out.txt"
    read_only = Scope(file_access=FileAccess(mode="read", paths=[str(secret.parent)]))
    result = await call(read_only, tmp_path, "write", {"path": str(target), "text": "x"})
    assert result["code"] == "ERR_ACCESS_DENIED" and not target.exists()
    # its own folder is readable, never writable
    result = await call(Scope(), tmp_path, "write", {"path": str(SNOOP / "dropped.txt"), "text": "x"})
    assert result["code"] == "ERR_ACCESS_DENIED" and not (SNOOP / "dropped.txt").exists()
    writable = Scope(file_access=FileAccess(mode="read_write", paths=[str(secret.parent)]))
    assert (await call(writable, tmp_path, "write", {"path": str(target), "text": "x"}))["ok"] is True
    assert target.read_text() == "x"


async def test_child_process_and_worker_refused_without_shell(tmp_path: Path) -> None:
    spawn = await call(Scope(), tmp_path, "spawn", {})
    assert spawn["ok"] is False and spawn["code"] == "ERR_ACCESS_DENIED"
    worker = await call(Scope(), tmp_path, "worker", {})
    assert worker["ok"] is False and worker["code"] == "ERR_ACCESS_DENIED"


async def test_child_process_allowed_with_shell_grant(tmp_path: Path) -> None:
    spawn = await call(Scope(shell=True, file_access=FileAccess(mode="read", paths=["/usr", "/bin"])), tmp_path,
                       "spawn", {})
    assert spawn == {"ok": True, "value": "escaped"}


async def test_host_api_outside_allowed_apis_is_refused(tmp_path: Path) -> None:
    h = make_runtime(SNOOP, tmp_path, scope=Scope(allowed_apis=["log"]))
    await h.runtime.start()
    try:
        refused = await h.runtime.call_tool("host", {"api": "kv.set", "args": {"key": "k", "value": 1}})
        assert refused["ok"] is False and refused["code"] == "ERR_SCOPE_DENIED"
        assert "'kv.set' is not allowed for this plugin" in refused["message"]
        assert h.state.kv_get("snoop", OWNER, "k") is None
        assert any(level == "warning" and "refused" in msg and "kv.set" in msg for level, msg in h.logs)
        time_refused = await h.runtime.call_tool("host", {"api": "time.now", "args": {}})
        assert time_refused["code"] == "ERR_SCOPE_DENIED"
        logged = await h.runtime.call_tool("host", {"api": "log", "args": {"message": "hello from code"}})
        assert logged == {"ok": True, "value": None}  # log is always allowed
        assert ("info", "hello from code") in h.logs
    finally:
        await h.runtime.stop()


async def test_granted_kv_round_trip_is_per_plugin(tmp_path: Path) -> None:
    h = make_runtime(SNOOP, tmp_path, scope=Scope(allowed_apis=["log", "kv"]))
    await h.runtime.start()
    try:
        ok = await h.runtime.call_tool("host", {"api": "kv.set", "args": {"key": "k", "value": {"n": 1}}})
        assert ok["ok"] is True
        got = await h.runtime.call_tool("host", {"api": "kv.get", "args": {"key": "k"}})
        assert got == {"ok": True, "value": {"n": 1}}
        assert h.state.kv_get("other-plugin", OWNER, "k") is None
        unknown = await h.runtime.call_tool("host", {"api": "kv.delete_everything", "args": {}})
        assert unknown["ok"] is False and "unknown host API" in unknown["message"]
    finally:
        await h.runtime.stop()


async def test_plugin_does_not_inherit_the_apps_environment(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    monkeypatch.setenv("NODE_OPTIONS", "--allow-fs-read=*")
    keys = await call(Scope(), tmp_path, "env", {})
    assert "OPENAI_API_KEY" not in keys and "NODE_OPTIONS" not in keys
    assert "ALEPH_PLUGIN_ID" in keys
