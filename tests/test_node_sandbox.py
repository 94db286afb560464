"""A Node.js plugin inside its OS sandbox (bubblewrap) tries to break out for real: through symlinks,
by signalling the app or another process, over the network (issue 13, findings 4 and 6). Each test
fails on a build without the sandbox."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from node_support import DATA, make_runtime, needs_node

from aleph_gui.core.sandbox import sandbox_status
from aleph_gui.core.scope import FileAccess, NetworkAccess, Scope

pytestmark = [needs_node, pytest.mark.skipif(not sandbox_status().available,
                                             reason="this system has no OS sandbox (bubblewrap)")]

SNOOP = DATA / "snoop"


async def call(scope: Scope, home: Path, tool: str, args: dict, plugin: Path = SNOOP) -> dict:  # type: ignore[type-arg]
    h = make_runtime(plugin, home, scope=scope)
    await h.runtime.start()
    try:
        return await h.runtime.call_tool(tool, args)
    finally:
        await h.runtime.stop()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "private" / "secret.txt"
    path.parent.mkdir()
    path.write_text("the launch codes")
    return path


async def test_a_symlink_in_a_granted_folder_does_not_lead_out(tmp_path: Path, secret: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "innocent.txt").symlink_to(secret)
    for mode in ("read", "read_write"):
        scope = Scope(file_access=FileAccess(mode=mode, paths=[str(shared)]))  # type: ignore[arg-type]
        read = await call(scope, tmp_path, "read", {"path": str(shared / "innocent.txt")})
        assert read["ok"] is False and "launch codes" not in json.dumps(read)
    scope = Scope(file_access=FileAccess(mode="read_write", paths=[str(shared)]))
    wrote = await call(scope, tmp_path, "write", {"path": str(shared / "innocent.txt"), "text": "overwritten"})
    assert wrote["ok"] is False and secret.read_text() == "the launch codes"


async def test_a_symlink_in_the_plugin_folder_does_not_lead_out(tmp_path: Path, secret: Path) -> None:
    plugin = tmp_path / "snoop"
    shutil.copytree(SNOOP, plugin)
    (plugin / "notes.txt").symlink_to(secret)
    read = await call(Scope(), tmp_path, "read", {"path": str(plugin / "notes.txt")}, plugin=plugin)
    assert read["ok"] is False and "launch codes" not in json.dumps(read)


async def test_the_plugin_cannot_signal_another_process(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        result = await call(Scope(), tmp_path, "kill", {"pid": bystander.pid})
        assert result["ok"] is False and result["code"] == "ESRCH"  # it cannot even see it
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_killing_its_parent_does_not_kill_the_app(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(SNOOP, home / "plugins" / "snoop")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    base = [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--project", str(tmp_path), "--no-builtin"]
    subprocess.run([*base, "grant", "snoop"], check=True, capture_output=True, env=env, timeout=60)
    done = subprocess.run([*base, "call", "snoop", "kill", "--input", '{"parent": true}'], capture_output=True,
                          text=True, env=env, timeout=60)
    # the app survives and answers: the plugin's process ended or was refused, the app did not die
    assert done.returncode in (0, 1), (done.returncode, done.stderr)
    assert done.stdout.strip(), done.stderr


class _Counting(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).hits.append(self.path)
        body = b"hello from the host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    _Counting.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Counting.hits
    server.shutdown()


async def test_no_network_grant_means_no_network_even_to_this_computer(
        tmp_path: Path, local_server: tuple[int, list[str]]) -> None:
    port, hits = local_server
    result = await call(Scope(), tmp_path, "fetch", {"url": f"http://127.0.0.1:{port}/private"})
    assert result["ok"] is False
    await asyncio.sleep(0)  # give a request that did get through the chance to be counted
    assert hits == []


async def test_a_host_allow_list_lets_exactly_those_hosts_through(
        tmp_path: Path, local_server: tuple[int, list[str]]) -> None:
    port, hits = local_server
    scope = Scope(network_access=NetworkAccess(mode="allow", hosts=["127.0.0.1"]))
    allowed = await call(scope, tmp_path, "fetch", {"url": f"http://127.0.0.1:{port}/granted"})
    assert allowed == {"ok": True, "value": "hello from the host", "status": 200}
    refused = await call(scope, tmp_path, "fetch", {"url": f"http://localhost:{port}/not-granted"})
    assert refused["ok"] is False or refused.get("status") == 403
    assert hits == ["/granted"]


async def test_a_grant_no_sandbox_can_give_stops_the_plugin_with_one_sentence(tmp_path: Path) -> None:
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.paths import Locations

    home = tmp_path / "home"
    root = home / "plugins" / "greedy"
    shutil.copytree(SNOOP, root)
    package = json.loads((root / "package.json").read_text())
    package["name"] = "greedy"
    package["aleph"]["scope"]["file_access"] = {"mode": "read", "paths": ["/"]}
    (root / "package.json").write_text(json.dumps(package))
    async with ExtensionManager(Locations(home=home, project=tmp_path, builtin=None)) as m:
        row = next(r for r in m.plugin("greedy").permissions if r.key == "file:read:/")
        assert row.enforcement.value == "refused" and row.permission.risk == "high"
        info = await m.grant("greedy")
        assert info.state == "failed"
        assert "read-only folder / cannot be granted: it resolves to / (the whole system)" in info.state_reason


async def _children_gone(before: set[int], timeout_s: float = 5.0) -> set[int]:
    """Children of this test process started since `before` that are still there after waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        left = {p.pid for p in psutil.Process().children(recursive=True) if p.pid not in before}
        if not left or loop.time() > deadline:
            return left
        await asyncio.sleep(0.02)


async def test_turning_a_plugin_off_while_its_process_starts_is_not_a_crash_and_leaves_nothing(
        tmp_path: Path) -> None:
    # Stopped at every point of a start: before, the call failed with bubblewrap's "Can't find source
    # path …/proxy.sock" (its proxy was closed under it) and that counted as a crash.
    scope = Scope(network_access=NetworkAccess(mode="allow", hosts=["127.0.0.1"]))
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    for yields in range(0, 60, 3):
        home = tmp_path / f"home-{yields}"
        home.mkdir()
        h = make_runtime(SNOOP, home, scope=scope)
        await h.runtime.start()
        calling = asyncio.create_task(h.runtime.call_tool("fetch", {"url": "http://127.0.0.1:9/"}))
        for _ in range(yields):
            await asyncio.sleep(0)
        await h.runtime.stop()
        [outcome] = await asyncio.gather(calling, return_exceptions=True)
        assert isinstance(outcome, Exception) and "stopped" in str(outcome), (yields, outcome)
        assert h.runtime.status()["crashes"] == 0, (yields, h.log_text())
        assert await _children_gone(before) == set(), f"left running when stopped after {yields} loop turns"
