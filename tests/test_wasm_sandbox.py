"""The granted scope is enforced by Extism itself: modules that try to break out are refused."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import OWNER
from wasm_support import files_scope, make_runtime, manifest, net_scope, plugin_folder

from aleph_gui.core.errors import PluginCallError
from aleph_gui.core.host_api import KV_VALUE_MAX
from aleph_gui.core.runtime.wasm import CompileCache
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB

EPERM, ENOENT, EBADF = "errno 63", "errno 44", "errno 08"  # WASI errno values


@pytest.fixture
def state(tmp_path: Path) -> StateDB:
    db = StateDB(tmp_path / "home" / "state.db")
    yield db
    db.close()


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    """notes/ (granted) with a note, a symlink out and a symlink in; outside/ with a secret."""
    notes, outside = tmp_path / "disk" / "notes", tmp_path / "disk" / "outside"
    (notes / "sub").mkdir(parents=True)
    outside.mkdir()
    (notes / "today.md").write_text("buy milk\n")
    (notes / "sub" / "deep.md").write_text("deep note\n")
    (outside / "secret.txt").write_text("the secret\n")
    os.symlink(outside / "secret.txt", notes / "escape.md")
    os.symlink("today.md", notes / "alias.md")
    return notes


async def _files_runtime(tmp_path: Path, state: StateDB, scope: Scope) -> object:
    root = plugin_folder(tmp_path, "files.wat")
    man = manifest("files.wat", tools={"read": "read", "write": "write"}, scope=scope)
    h = make_runtime(root, man, state)
    await h.runtime.start()
    return h.runtime


async def test_file_inside_the_granted_folder_can_be_read(tmp_path: Path, state: StateDB, disk: Path) -> None:
    rt = await _files_runtime(tmp_path, state, files_scope("read", str(disk)))
    assert await rt.call_tool("read", "today.md") == "buy milk\n"  # type: ignore[attr-defined]
    assert await rt.call_tool("read", "sub/deep.md") == "deep note\n"  # type: ignore[attr-defined]
    assert await rt.call_tool("read", "sub/../today.md") == "buy milk\n"  # type: ignore[attr-defined]
    assert await rt.call_tool("read", "alias.md") == "buy milk\n"  # type: ignore[attr-defined]
    assert await rt.call_tool("read", "missing.md") == ENOENT  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["../outside/secret.txt", "sub/../../outside/secret.txt", "escape.md",
                                  "SECRET_ABSOLUTE"])
async def test_file_outside_the_granted_folder_is_refused(tmp_path: Path, state: StateDB, disk: Path,
                                                          path: str) -> None:
    rt = await _files_runtime(tmp_path, state, files_scope("read", str(disk)))
    if path == "SECRET_ABSOLUTE":
        path = str(disk.parent / "outside" / "secret.txt")
    answer = await rt.call_tool("read", path)  # type: ignore[attr-defined]
    assert answer == EPERM
    assert "secret" not in str(answer)


async def test_read_only_grant_refuses_writes(tmp_path: Path, state: StateDB, disk: Path) -> None:
    rt = await _files_runtime(tmp_path, state, files_scope("read", str(disk)))
    assert await rt.call_tool("write", "new.md") == EPERM  # type: ignore[attr-defined]
    assert not (disk / "new.md").exists()


async def test_read_write_grant_allows_writes_inside_only(tmp_path: Path, state: StateDB, disk: Path) -> None:
    rt = await _files_runtime(tmp_path, state, files_scope("read_write", str(disk)))
    assert await rt.call_tool("write", "new.md") == "x"  # type: ignore[attr-defined]
    assert (disk / "new.md").read_text() == "x"
    assert await rt.call_tool("write", "../outside/planted.txt") == EPERM  # type: ignore[attr-defined]
    assert not (disk.parent / "outside" / "planted.txt").exists()


async def test_no_file_grant_means_no_folder_at_all(tmp_path: Path, state: StateDB, disk: Path) -> None:
    rt = await _files_runtime(tmp_path, state, Scope())
    assert await rt.call_tool("read", "today.md") == EBADF  # type: ignore[attr-defined]
    assert rt.status()["allowed_paths"] == {}  # type: ignore[attr-defined]


async def test_granted_scope_wins_over_the_requested_one(tmp_path: Path, state: StateDB, disk: Path) -> None:
    root = plugin_folder(tmp_path, "files.wat")
    man = manifest("files.wat", tools={"read": "read"}, scope=files_scope("read", str(disk)))
    h = make_runtime(root, man, state, scope=Scope())  # requested notes, granted nothing
    await h.runtime.start()
    assert await h.runtime.call_tool("read", "today.md") == EBADF


async def test_tilde_paths_are_expanded_and_missing_folders_logged(tmp_path: Path, state: StateDB,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "fakehome"))
    (tmp_path / "fakehome" / "notes").mkdir(parents=True)
    (tmp_path / "fakehome" / "notes" / "n.md").write_text("home note")
    root = plugin_folder(tmp_path, "files.wat")
    man = manifest("files.wat", tools={"read": "read"})
    h = make_runtime(root, man, state, scope=files_scope("read", "~/notes", "~/absent"))
    await h.runtime.start()
    assert await h.runtime.call_tool("read", "n.md") == "home note"
    assert any("granted folder ~/absent does not exist" in msg for _, msg in h.logs)
    assert h.runtime.status()["allowed_paths"] == {
        f"ro:{tmp_path / 'fakehome' / 'absent'}": "~/absent", f"ro:{tmp_path / 'fakehome' / 'notes'}": "~/notes"}


class _Server:
    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"pong": true}')

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.close()


@pytest.mark.parametrize("scope", [Scope(), net_scope("allow", "api.example.com")],
                         ids=["network-none", "other-host-only"])
async def test_http_to_a_host_not_granted_is_refused(tmp_path: Path, state: StateDB, server: _Server,
                                                     scope: Scope) -> None:
    root = plugin_folder(tmp_path, "http.wat")
    h = make_runtime(root, manifest("http.wat", tools={"fetch": "fetch"}, scope=scope), state)
    await h.runtime.start()
    url = f"http://127.0.0.1:{server.port}/leak"
    limit = "network access is not granted" if scope.network_access.mode == "none" else \
        "network access is limited to api.example.com"
    with pytest.raises(PluginCallError, match=f"tool 'fetch' asked for {url}, but {limit}; the request was not sent"):
        await h.runtime.call_tool("fetch", {"url": url, "method": "GET"})
    assert server.hits == []


@pytest.mark.parametrize("scope", [net_scope("allow", "127.0.0.1"), net_scope("any")], ids=["allow", "any"])
async def test_http_to_a_granted_host_goes_through(tmp_path: Path, state: StateDB, server: _Server,
                                                   scope: Scope) -> None:
    root = plugin_folder(tmp_path, "http.wat")
    h = make_runtime(root, manifest("http.wat", tools={"fetch": "fetch"}, scope=scope), state)
    await h.runtime.start()
    answer = await h.runtime.call_tool("fetch", {"url": f"http://127.0.0.1:{server.port}/ok", "method": "GET"})
    assert answer == {"pong": True} and server.hits == ["/ok"]


async def test_kv_is_isolated_between_plugins_and_persisted(tmp_path: Path, state: StateDB) -> None:
    kv = Scope(allowed_apis=["log", "kv"])
    runtimes = {}
    for pid in ("kv-one", "kv-two"):
        root = plugin_folder(tmp_path, "kv.wat", plugin_id=pid)
        h = make_runtime(root, manifest("kv.wat", plugin_id=pid, tools={"set": "set", "get": "get"}, scope=kv),
                         state)
        await h.runtime.start()
        runtimes[pid] = h.runtime
    assert await runtimes["kv-one"].call_tool("set", {"owner": "one"}) == 0
    assert await runtimes["kv-two"].call_tool("get", {}) is None
    assert await runtimes["kv-two"].call_tool("set", {"owner": "two"}) == 0
    assert await runtimes["kv-one"].call_tool("get", {}) == {"owner": "one"}
    assert await runtimes["kv-two"].call_tool("get", {}) == {"owner": "two"}
    assert state.kv_get("kv-one", OWNER, "k") == b'{"owner": "one"}'


async def test_kv_value_over_the_limit_is_a_guest_visible_error(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "kv.wat")
    h = make_runtime(root, manifest("kv.wat", tools={"set_huge": "set_huge", "get": "get"},
                                    scope=Scope(allowed_apis=["log", "kv"]), memory_mb=32), state)
    await h.runtime.start()
    answer = await h.runtime.call_tool("set_huge", {})
    assert answer == (f"host function aleph_kv_set failed: value for 'k' is 2097152 bytes; "
                      f"the limit is {KV_VALUE_MAX} bytes")
    assert ("error", answer) in h.logs
    assert await h.runtime.call_tool("get", {}) is None
    assert h.runtime.status()["host_errors"] == 1


async def test_reload_of_a_changed_module_picks_up_the_change(tmp_path: Path, state: StateDB) -> None:
    cache = CompileCache()
    root = plugin_folder(tmp_path, "config_answer.wat")
    man = manifest("config_answer.wat", tools={"say": "answer"}, config={"answer": '"v1"'})
    first = make_runtime(root, man, state, cache=cache)
    await first.runtime.start()
    assert first.runtime.status()["compiled_cache_hit"] is False
    assert await first.runtime.call_tool("say", {}) == "v1"

    same = make_runtime(root, man, state, cache=cache)
    await same.runtime.start()
    assert same.runtime.status()["compiled_cache_hit"] is True  # an unchanged module is not recompiled

    module = root / "config_answer.wat"
    module.write_text(module.read_text().replace('(func (export "answer") (result i32)',
                                                 '(func (export "answer") (result i32)\n'
                                                 '    (call $output_dec (i64.const 2))\n'
                                                 '    (return (i32.const 0))'))
    changed = make_runtime(root, man, state, cache=cache)
    await changed.runtime.start()
    assert changed.runtime.status()["compiled_cache_hit"] is False
    assert await changed.runtime.call_tool("say", {}) == 2
    await first.runtime.stop()
    await same.runtime.stop()


async def test_a_different_grant_is_compiled_separately(tmp_path: Path, state: StateDB, disk: Path) -> None:
    cache = CompileCache()
    root = plugin_folder(tmp_path, "files.wat")
    man = manifest("files.wat", tools={"read": "read"})
    narrow = make_runtime(root, man, state, scope=Scope(), cache=cache)
    await narrow.runtime.start()
    wide = make_runtime(root, man, state, scope=files_scope("read", str(disk)), cache=cache)
    await wide.runtime.start()
    assert wide.runtime.status()["compiled_cache_hit"] is False
    assert await narrow.runtime.call_tool("read", "today.md") == EBADF
    assert await wide.runtime.call_tool("read", "today.md") == "buy milk\n"


async def test_stopped_runtime_refuses_calls(tmp_path: Path, state: StateDB) -> None:
    from aleph_gui.core.errors import PluginNotRunnable
    root = plugin_folder(tmp_path, "trap.wat")
    h = make_runtime(root, manifest("trap.wat", tools={"echo": "echo"}), state)
    await h.runtime.start()
    await h.runtime.stop()
    with pytest.raises(PluginNotRunnable, match="is not running"):
        await h.runtime.call_tool("echo", {})
