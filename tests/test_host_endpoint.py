"""The host endpoint, served in this test's loop: files and modes, framing, many calls in flight, errors,
subscriptions and the client's reconnection after a hand-over."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from plugin_files import approve

from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.host import rpc
from aleph_gui.host.client import HostClient, HostUnavailable, call_sync
from aleph_gui.host.hosting import HomeHosted, Hosting
from aleph_gui.host.info import HostInfo, read_host_info
from aleph_gui.host.lock import HostLock
from aleph_gui.host.server import HostServer

ROOT = Path(__file__).resolve().parents[1]
TEXT_TOOLS = ROOT / "plugins_demo" / "wasm-wat-text-tools"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    approve(home, shutil.copytree(TEXT_TOOLS, home / "plugins" / "wasm-wat-text-tools"))
    return home


@asynccontextmanager
async def hosted(home: Path, kind: str = "headless") -> AsyncIterator[tuple[Hosting, HostServer]]:
    """This process hosts `home` (no builtin plugins) for the length of the block."""
    hosting = await Hosting.claim(home, kind)
    manager = ExtensionManager(Locations(home=home, project=home / "no-project", builtin=None))
    try:
        hosting.announce()
        await manager.start()
        server = await hosting.serve(manager)
        yield hosting, server
    finally:
        await hosting.stop_serving()
        await manager.stop()
        hosting.release()


async def raw(home: Path) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(str(home / "host.sock"), limit=rpc.MAX_LINE)


async def answer(reader: asyncio.StreamReader) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(reader.readline(), 30))  # type: ignore[no-any-return]


def test_the_lock_admits_one_host_and_a_dead_holder_frees_it(tmp_path: Path) -> None:
    first, second = HostLock(tmp_path), HostLock(tmp_path)
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release()
    # A process that dies holding the lock (killed: no cleanup at all) does not keep it.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from aleph_gui.host.lock import HostLock; "
        f"assert HostLock(Path({str(tmp_path)!r})).acquire(); print('held', flush=True); time.sleep(600)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not first.acquire()
    finally:
        holder.kill()
        holder.wait()
    assert first.acquire()
    first.release()


async def test_only_the_user_can_reach_the_host(home: Path) -> None:
    os.chmod(home, 0o755)
    async with hosted(home) as (hosting, server):
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert stat.S_ISSOCK((home / "host.sock").stat().st_mode)
        assert stat.S_IMODE((home / "host.sock").stat().st_mode) == 0o600
        assert stat.S_IMODE((home / "host.json").stat().st_mode) == 0o600
        info = read_host_info(home)
        assert info is not None and (info.pid, info.kind, info.socket, info.http) == (
            os.getpid(), "headless", str(home / "host.sock"), None)
        assert len(info.token) >= 32 and info.started == server.started
        token = info.token
    assert not (home / "host.json").exists() and not (home / "host.sock").exists()
    async with hosted(home):  # the token is kept across restarts (state.db)
        info = read_host_info(home)
        assert info is not None and info.token == token


async def test_a_second_claim_is_refused_with_who_hosts(home: Path) -> None:
    async with hosted(home):
        with pytest.raises(HomeHosted, match=rf"already hosted by the headless \(pid {os.getpid()}\)"):
            await Hosting.claim(home, "headless")


async def test_lines_that_are_not_requests_are_answered_and_the_connection_goes_on(home: Path) -> None:
    async with hosted(home):
        reader, writer = await raw(home)
        writer.write(b"this is not json\n[1, 2]\n{\"id\": 1}\n")
        writer.write(b'{"jsonrpc": "2.0", "id": 2, "method": "no.such.thing"}\n')
        writer.write(b'{"jsonrpc": "2.0", "id": 3, "method": "call", "params": {"plugin": 7}}\n')
        writer.write(b'{"jsonrpc": "2.0", "id": 4, "method": "call", "params": [1]}\n')
        codes = [(await answer(reader))["error"]["code"] for _ in range(6)]
        assert codes == [rpc.PARSE_ERROR, rpc.INVALID_REQUEST, rpc.INVALID_REQUEST, rpc.METHOD_NOT_FOUND,
                         rpc.INVALID_PARAMS, rpc.INVALID_PARAMS]
        writer.write(rpc.request(5, "call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase",
                                             "arguments": {"text": "still here"}}))
        assert (await answer(reader)) == {"jsonrpc": "2.0", "id": 5, "result": {"text": "STILL HERE"}}
        writer.close()


async def test_a_line_past_the_cap_ends_only_that_connection(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc, "MAX_LINE", 4096)
    async with hosted(home):
        reader, writer = await raw(home)
        writer.write(b"x" * 10_000)
        refused = await answer(reader)
        assert refused["error"]["code"] == rpc.INVALID_REQUEST and "longer than 4096 bytes" in refused["error"]["message"]
        assert await asyncio.wait_for(reader.read(), 30) == b""  # closed
        other = HostClient(home, "test")
        await other.connect()
        assert (await other.call("list"))["plugins"][0]["id"] == "wasm-wat-text-tools"
        await other.close()


async def test_many_calls_in_flight_on_one_connection_are_each_answered_once(home: Path) -> None:
    async with hosted(home):
        reader, writer = await raw(home)
        n = 600  # past the per-connection limit: reading pauses and resumes
        for i in range(n):
            writer.write(rpc.request(i, "call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase",
                                                 "arguments": {"text": f"call {i}"}}))
        await writer.drain()
        seen: dict[int, Any] = {}
        for _ in range(n):
            message = await answer(reader)
            assert message["id"] not in seen
            seen[message["id"]] = message["result"]
        assert seen == {i: {"text": f"CALL {i}"} for i in range(n)}
        writer.close()


async def test_errors_carry_the_sentence_and_the_error_class(home: Path) -> None:
    async with hosted(home):
        client = HostClient(home, "test")
        await client.connect()
        with pytest.raises(rpc.RemoteError) as caught:
            await client.call("call", {"plugin": "ghost", "tool": "x"})
        assert caught.value.code == rpc.APP_ERROR and caught.value.type == "UnknownPlugin"
        assert str(caught.value) == "ghost: no plugin with this id is installed"
        with pytest.raises(rpc.RemoteError) as caught:
            await client.call("call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase", "arguments": {}})
        assert caught.value.type == "InvalidArguments" and "'text' is a required property" in str(caught.value)
        await client.close()


async def test_status_names_the_other_clients(home: Path) -> None:
    async with hosted(home):
        agent = HostClient(home, "my-agent")
        await agent.connect()
        status = await asyncio.to_thread(call_sync, home, "host.status", {}, 10, client="cli")
        assert status["kind"] == "headless" and status["pid"] == os.getpid()
        assert status["clients"] == [{"name": "my-agent", "pid": os.getpid()}]
        await agent.close()


async def test_a_fire_reaches_subscribers_as_traces_that_name_the_client(home: Path) -> None:
    async with hosted(home):
        events: list[dict[str, Any]] = []
        got = asyncio.Event()
        watcher = HostClient(home, "watcher")
        await watcher.connect()

        def on_event(doc: dict[str, Any]) -> None:
            events.append(doc)
            if doc["type"] == "HookTraced":
                got.set()

        await watcher.subscribe(on_event)
        done = await asyncio.to_thread(call_sync, home, "fire", {"event": "message_received",
                                                                  "data": {"text": "no spam here"}}, 30,
                                       client="my-agent")
        assert done["decision"] == "block" and done["trace"][0]["client"] == "my-agent"
        await asyncio.wait_for(got.wait(), 30)
        trace = next(e for e in events if e["type"] == "HookTraced")
        assert (trace["id"], trace["event"], trace["client"]) == ("wasm-wat-text-tools", "message_received",
                                                                  "my-agent")
        await watcher.close()


async def test_the_window_does_not_hand_over(home: Path) -> None:
    async with hosted(home, kind="window"):
        client = HostClient(home, "window")
        await client.connect()
        with pytest.raises(rpc.RemoteError, match="does not hand over"):
            await client.call("host.handover")
        await client.close()
        with pytest.raises(HomeHosted, match=rf"already hosted by the window \(pid {os.getpid()}\)"):
            await Hosting.claim(home, "window", take_over=True)


async def test_a_client_follows_the_host_across_a_handover(home: Path) -> None:
    """A subscribed client reconnects to the next host by itself, and a call refused during the hand-over
    is asked again of the next host."""
    first = await Hosting.claim(home, "headless")
    manager = ExtensionManager(Locations(home=home, project=home / "no-project", builtin=None))
    first.announce()
    await manager.start()
    await first.serve(manager)
    client = HostClient(home, "watcher", reconnect=True)
    await client.connect()
    reconnected = asyncio.Event()
    await client.subscribe(lambda doc: None, on_reconnect=lambda hello: reconnected.set())
    assert client.connections == 1

    async def successor() -> None:
        nonlocal second
        second = await Hosting.claim(home, "headless", take_over=True)  # asks `first` to hand over
        second.announce()
        await manager2.start()
        await second.serve(manager2)

    second: Hosting | None = None
    manager2 = ExtensionManager(Locations(home=home, project=home / "no-project", builtin=None))
    taking_over = asyncio.ensure_future(successor())
    await asyncio.wait_for(first.stop_requested.wait(), 30)
    # Refused by the old host (it hands over), asked again of the next one.
    retried = asyncio.ensure_future(client.call("call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase",
                                                         "arguments": {"text": "again"}}))
    await first.stop_serving()
    await manager.stop()
    first.release()
    await asyncio.wait_for(taking_over, 60)
    assert await asyncio.wait_for(retried, 60) == {"text": "AGAIN"}
    await asyncio.wait_for(reconnected.wait(), 60)
    assert client.connections == 2
    assert (await client.call("host.status"))["pid"] == os.getpid()
    await client.close()
    assert second is not None
    await second.stop_serving()
    await manager2.stop()
    second.release()


async def test_no_host_is_said_plainly(home: Path) -> None:
    with pytest.raises(HostUnavailable, match="no host runs for"):
        await asyncio.to_thread(call_sync, home, "list", {}, 5)
    (home / "host.sock").write_text("")  # a leftover file that is not a socket
    with pytest.raises(HostUnavailable, match="no host runs for"):
        await asyncio.to_thread(call_sync, home, "list", {}, 5)


async def test_a_home_whose_socket_path_is_too_long_for_unix_sockets_still_hosts(tmp_path: Path) -> None:
    home = tmp_path / ("a-very-long-folder-name-" * 5) / "home"
    approve(home, shutil.copytree(TEXT_TOOLS, home / "plugins" / "wasm-wat-text-tools"))
    assert len(str(home / "host.sock").encode()) > 108  # past sun_path: reached through /proc/self/fd
    async with hosted(home):
        assert stat.S_ISSOCK((home / "host.sock").stat().st_mode)
        done = await asyncio.to_thread(call_sync, home, "call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase",
                                                                 "arguments": {"text": "far"}}, 30)
        assert done == {"text": "FAR"}
        client = HostClient(home, "test")
        await client.connect()
        assert (await client.call("host.status"))["socket"] == str(home / "host.sock")
        await client.close()
    assert not (home / "host.sock").exists()


OLD_HOST = """
import asyncio, sys
from pathlib import Path
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.host.hosting import Hosting

async def main(home):
    hosting = await Hosting.claim(home, "headless")
    manager = ExtensionManager(Locations(home=home, project=home / "no-project", builtin=None))
    await manager.start()
    await hosting.serve(manager)
    print("serving", flush=True)
    await hosting.stop_requested.wait()
    await hosting.stop_serving()
    await manager.stop()
    hosting.leave_host_info()  # host.json names the successor ...
    print("named", flush=True)
    sys.stdin.readline()  # ... and the lock is let go only when the test says so
    hosting.lock.release()

asyncio.run(main(Path(sys.argv[1])))
"""


async def test_a_claimant_named_as_successor_waits_for_the_lock(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old host names its successor in host.json before it lets the lock go: the window that asked reads
    that entry and keeps waiting for the lock, instead of thinking a window already hosts."""
    from aleph_gui.host import hosting as hosting_module

    saw_itself_named = asyncio.Event()

    def read_and_note(where: Path) -> HostInfo | None:  # the real reader; notes when the claim saw the entry
        info = read_host_info(where)
        if info is not None and info.pid == os.getpid():
            saw_itself_named.set()
        return info

    monkeypatch.setattr(hosting_module, "read_host_info", read_and_note)
    old = subprocess.Popen([sys.executable, "-c", OLD_HOST, str(home)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        assert old.stdout is not None and old.stdout.readline().strip() == "serving"
        claiming = asyncio.ensure_future(Hosting.claim(home, "window", take_over=True))
        assert (await asyncio.to_thread(old.stdout.readline)).strip() == "named"
        await asyncio.wait_for(saw_itself_named.wait(), 30)
        await asyncio.sleep(0)  # the claim goes on from what it read
        assert not claiming.done(), claiming.exception() if claiming.done() else None
        old.communicate("\n", timeout=30)  # the old host lets go
        hosting = await asyncio.wait_for(claiming, 30)
        assert hosting.lock.held and old.returncode == 0
        hosting.release()
    finally:
        if old.poll() is None:
            old.kill()
            old.wait()
