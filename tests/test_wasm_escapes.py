"""WASM modules that try to get around their limits: start-up code that never returns, an HTTP redirect
to a host that was never granted, a flood of error text; and the clock, which is no permission at all.

Each of these broke out (or hung the app) before the runtime ran start-up code under the call limit,
sent HTTP itself and checked every redirect, and clipped error text.
"""

from __future__ import annotations

import http.server
import shutil
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from manager_helpers import manager_for
from plugin_files import approve
from wasm_support import DATA, make_runtime, manifest, net_scope, plugin_folder

from aleph_gui.core.errors import PLUGIN_TEXT_CAP, PluginCallError, PluginNotRunnable, PluginTimeout
from aleph_gui.core.review import permission_rows
from aleph_gui.core.scope import Scope
from aleph_gui.core.state import StateDB


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateDB]:
    db = StateDB(tmp_path / "home" / "state.db")
    yield db
    db.close()


# -- start-up code runs under the call limit (finding 8) ----------------------------------------------

STUCK_TOML = textwrap.dedent("""\
    [plugin]
    id = "stuck-start"
    name = "Stuck Start"
    version = "1.0.0"
    kind = "wasm"
    entry = "start_loop.wat"

    [[capabilities]]
    type = "tool"
    name = "echo"
    description = "Echo"
    handler = "echo"

    [[capabilities]]
    type = "hook"
    event = "message_received"
    handler = "echo"

    [limits]
    tool_timeout_ms = 300
    hook_timeout_ms = 300
    """)


@pytest.mark.timeout(60)  # a hang guard: before the fix, the manager never finished starting
async def test_a_start_function_that_never_returns_fails_the_plugin_and_nothing_hangs(home: Path) -> None:
    folder = home / "plugins" / "stuck-start"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_text(STUCK_TOML)
    shutil.copy(DATA / "start_loop.wat", folder / "start_loop.wat")
    approve(home, folder)
    manager = manager_for(home)
    await manager.start()
    try:
        sentence = "start_loop.wat did not finish starting within 300 ms and was stopped"
        info = manager.plugin("stuck-start")
        assert info.state == "failed" and sentence in info.state_reason
        with pytest.raises(PluginNotRunnable, match=sentence):
            await manager.call_tool("stuck-start", "echo", {"x": 1})
        fired = await manager.fire("message_received", {"text": "hello"})
        assert fired.decision == "continue" and fired.data == {"text": "hello"}
        await manager.uninstall("stuck-start")
        assert not folder.exists()
        with pytest.raises(Exception, match="no plugin with this id"):
            manager.plugin("stuck-start")
    finally:
        await manager.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("module", ["start_loop.wat", "init_loop.wat"])
async def test_stuck_start_up_code_is_stopped_within_the_call_limit(tmp_path: Path, state: StateDB,
                                                                    module: str) -> None:
    root = plugin_folder(tmp_path, module)
    h = make_runtime(root, manifest(module, tools={"echo": "echo"}, tool_timeout_ms=200), state)
    with pytest.raises(PluginTimeout, match=f"{module} did not finish starting within 200 ms and was stopped"):
        await h.runtime.start()
    with pytest.raises(PluginNotRunnable, match="is not running"):
        await h.runtime.call_tool("echo", {})


@pytest.mark.timeout(60)
async def test_a_hook_only_plugin_starts_under_its_hook_limit(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "start_loop.wat")
    h = make_runtime(root, manifest("start_loop.wat", hooks={"message_received": "echo"}, tool_timeout_ms=200,
                                    hook_timeout_ms=100), state)
    with pytest.raises(PluginTimeout, match="start_loop.wat did not finish starting within 100 ms"):
        await h.runtime.start()


async def test_start_up_code_still_runs_once_per_instance_in_order(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "start_once.wat")
    h = make_runtime(root, manifest("start_once.wat", tools={"count": "count", "boom": "boom"}), state)
    await h.runtime.start()
    assert await h.runtime.call_tool("count", {}) == 10  # start (+1), then _initialize (x10)
    assert await h.runtime.call_tool("count", {}) == 10  # not again for the next call
    with pytest.raises(PluginCallError, match="crashed inside WebAssembly"):
        await h.runtime.call_tool("boom", {})
    assert await h.runtime.call_tool("count", {}) == 10  # the fresh instance started the same way


def test_the_assemblyscript_demo_has_a_start_section_and_still_works(state: StateDB) -> None:
    from wasm_support import NOTES_DEMO, ensure_notes_built, load_demo

    from aleph_gui.core.runtime.wasm_module import START_EXPORT, prepare_module

    module = ensure_notes_built().read_bytes()
    assert START_EXPORT.encode() in prepare_module(module)  # asc puts top-level code in `start`
    h = make_runtime(NOTES_DEMO, load_demo(NOTES_DEMO), state)
    h.runtime.start_blocking()
    assert h.runtime.status()["running"] is True


# -- HTTP redirects are checked hop by hop (finding 9) ------------------------------------------------

class _Server:
    """A local HTTP server; `redirect_to` (if set) answers every request with a 302 to that URL."""

    def __init__(self, redirect_to: Callable[[], str] | None = None) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                hits.append(self.path)
                if redirect_to is not None and self.path != "/final":
                    self.send_response(302)
                    self.send_header("Location", redirect_to())
                    self.end_headers()
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"private": "data"}')

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def other() -> Iterator[_Server]:
    """The server nobody granted (reached through the name `localhost`)."""
    srv = _Server()
    yield srv
    srv.close()


async def test_a_redirect_to_a_host_not_granted_is_not_followed(tmp_path: Path, state: StateDB,
                                                                other: _Server) -> None:
    granted = _Server(redirect_to=lambda: f"http://localhost:{other.port}/leak")
    try:
        root = plugin_folder(tmp_path, "http.wat")
        h = make_runtime(root, manifest("http.wat", tools={"fetch": "fetch", "echo": "echo"},
                                        scope=net_scope("allow", "127.0.0.1")), state)
        await h.runtime.start()
        with pytest.raises(PluginCallError, match="tool 'fetch' was redirected from 127.0.0.1 to localhost, which "
                                                  "is not a granted host .*; the redirect was not followed"):
            await h.runtime.call_tool("fetch", {"url": f"http://127.0.0.1:{granted.port}/start"})
        assert granted.hits == ["/start"]
        assert other.hits == []
        assert await h.runtime.call_tool("echo", "still working") == "still working"
    finally:
        granted.close()


async def test_a_redirect_between_granted_hosts_is_followed(tmp_path: Path, state: StateDB) -> None:
    server = _Server(redirect_to=lambda: f"http://127.0.0.1:{server.port}/final")
    try:
        root = plugin_folder(tmp_path, "http.wat")
        h = make_runtime(root, manifest("http.wat", tools={"fetch": "fetch"},
                                        scope=net_scope("allow", "127.0.0.1")), state)
        await h.runtime.start()
        answer = await h.runtime.call_tool("fetch", {"url": f"http://127.0.0.1:{server.port}/start"})
        assert answer == {"private": "data"} and server.hits == ["/start", "/final"]
    finally:
        server.close()


# -- error text is clipped (finding 10) ---------------------------------------------------------------

async def test_a_100_kb_error_message_is_clipped(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "errors.wat")
    h = make_runtime(root, manifest("errors.wat", tools={"fail": "fail"}), state)
    await h.runtime.start()
    with pytest.raises(PluginCallError) as raised:
        await h.runtime.call_tool("fail", "x" * 100_000)
    message = raised.value.message
    assert message.startswith("tool 'fail' failed: \"xxx") and message.endswith("… (truncated)")
    assert len(message) < PLUGIN_TEXT_CAP + 100
    assert all(len(text) < PLUGIN_TEXT_CAP + 100 for _, text in h.logs)
    assert h.runtime.status()["failed"] is False  # an error answer is not a fault


async def test_a_huge_bad_hook_answer_is_clipped(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "config_answer.wat")
    answer = '{"action": "' + "y" * 100_000 + '"}'
    h = make_runtime(root, manifest("config_answer.wat", hooks={"message_received": "answer"},
                                    config={"answer": answer}), state)
    await h.runtime.start()
    with pytest.raises(PluginCallError) as raised:
        await h.runtime.run_hook("answer", {"event": "message_received", "data": {}})
    assert "is not a hook decision: unknown action 'yyy" in raised.value.message
    assert raised.value.message.endswith("… (truncated)") and len(raised.value.message) < PLUGIN_TEXT_CAP + 100


# -- the clock is no permission: the label says so, and it is true (finding 10) -------------------------

def test_time_is_not_a_permission_that_needs_review() -> None:
    asks_time = Scope(allowed_apis=["log", "time"])
    assert asks_time.needs_review() is False
    rows = permission_rows("wasm", asks_time, None, preapproved=False)
    assert [row.key for row in rows] == ["api:log"]
    assert all(row.approved for row in rows)


async def test_every_wasm_plugin_reads_the_clock_and_random_numbers(tmp_path: Path, state: StateDB) -> None:
    root = plugin_folder(tmp_path, "clock.wat")
    man = manifest("clock.wat", tools={"now": "now", "wasi_now": "wasi_now", "random": "random"})
    h = make_runtime(root, man, state, scope=Scope())  # nothing granted at all
    await h.runtime.start()
    wall = time.time() * 1000
    assert abs(await h.runtime.call_tool("now", {}) - wall) < 60_000
    assert abs(await h.runtime.call_tool("wasi_now", {}) - wall) < 60_000
    draws = {await h.runtime.call_tool("random", {}) for _ in range(3)}
    assert len(draws) == 3 and 0 not in draws


CLOCK_TOML = textwrap.dedent("""\
    [plugin]
    id = "clock"
    name = "Clock"
    version = "1.0.0"
    kind = "wasm"
    entry = "clock.wat"

    [[capabilities]]
    type = "tool"
    name = "now"
    description = "Now"
    handler = "now"

    [scope]
    allowed_apis = ["log", "time"]
    """)


async def test_asking_for_time_adds_nothing_to_the_review(home: Path) -> None:
    folder = home / "plugins" / "clock"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_text(CLOCK_TOML)
    shutil.copy(DATA / "clock.wat", folder / "clock.wat")
    manager = manager_for(home)
    await manager.start()
    try:
        info = manager.plugin("clock")
        assert [row.key for row in info.permissions] == ["api:log", "code:wasm"]  # what every WASM plugin asks
        await manager.grant("clock")
        assert manager.plugin("clock").state == "enabled"
        assert abs(await manager.call_tool("clock", "now", {}) - time.time() * 1000) < 60_000
    finally:
        await manager.stop()
