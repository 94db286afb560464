"""`aleph-ext serve --http`: MCP over streamable HTTP for a real `mcp` SDK client, plugins' HTTP routes, and the
guard in front of both (bearer token, loopback Host and Origin), on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import (
    ROOT,
    Notifications,
    add_demo,
    ext,
    grant,
    host_info,
    http_get,
    http_session,
    text_of,
)
from host_support import HostProcess, cli_env, wait_for
from node_support import needs_node
from plugin_files import approve

from aleph_gui.host.client import call_sync

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def http_host(home: Path) -> Iterator[HostProcess]:
    """`aleph-ext serve --http 0` (any free port) for `home`, once host.json names its URL: the WASM demo, the
    MCP-server demo (approved) and the Node.js kit (not approved yet)."""
    approve(home, add_demo(home, "wasm-wat-text-tools"))
    add_demo(home, "node-assistant-kit")
    add_demo(home, "mcp-time-server")
    asyncio.run(grant(home, "mcp-time-server"))
    host = HostProcess(home, ["--no-builtin"], ROOT, serve_options=("--http", "0"))
    try:
        host.wait_until_serving()
        wait_for(lambda: (home / "host.json").exists() and host_info(home)["http"],
                 what="host.json to name the URL")
        yield host
    finally:
        code, err = host.stop()
        assert code == 0, err


def test_http_is_on_127_0_0_1_only_and_host_status_says_where(home: Path, http_host: HostProcess) -> None:
    url = host_info(home)["http"]
    assert url.startswith("http://127.0.0.1:")
    port = int(url.rsplit(":", 1)[1])
    listening = [c for c in __import__("psutil").Process(http_host.pid).net_connections("tcp")
                 if c.status == "LISTEN"]
    assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", port)]
    status = subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "host", "status"],
                            capture_output=True, text=True, timeout=60, env=cli_env(home))
    assert f"http:    {url} (MCP at {url}/mcp" in status.stdout


@needs_node
async def test_an_sdk_client_over_streamable_http_lists_and_calls_tools_named_in_the_log(
        home: Path, http_host: HostProcess) -> None:
    info = host_info(home)
    notes = Notifications()
    async with http_session(info["http"], info["token"], client="my-sdk-agent", notifications=notes) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"uppercase", "word_count", "current_time"} <= names and "clock_status" not in names  # not approved
        result = await session.call_tool("uppercase", {"text": "over http"})
        assert result.structured_content == {"text": "OVER HTTP"}
        proxied = await session.call_tool("convert_time", {"time": "09:30", "source_timezone": "UTC",
                                                           "target_timezone": "Asia/Kolkata"})
        assert not proxied.is_error and text_of(proxied).endswith("T15:00+05:30")
        records = await asyncio.to_thread(call_sync, home, "log", {"limit": 20}, client="test")
        assert [r["client"] for r in records if r["event"] == "tool_call"] == ["my-sdk-agent", "my-sdk-agent"]

        assert (await ext(home, "grant", "node-assistant-kit")).returncode == 0
        await notes.wait_for("notifications/tools/list_changed")
        kit = await session.call_tool("clock_status", {})
        assert not kit.is_error and "running" in text_of(kit)


def test_every_request_needs_the_token_a_loopback_host_and_a_loopback_origin(
        home: Path, http_host: HostProcess) -> None:
    info = host_info(home)
    url, token = info["http"], info["token"]
    for path in ("/mcp", "/plugins/wasm-wat-text-tools/anything"):
        status, headers, body = http_get(url, path)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert "no bearer token" in json.loads(body)["error"]
        status, _, body = http_get(url, path, token="not-" + token)
        assert status == 401 and "a wrong bearer token" in json.loads(body)["error"]
        status, _, body = http_get(url, path, token=token, headers={"Origin": "https://evil.example"})
        assert status == 403 and "evil.example" in json.loads(body)["error"]
        status, _, _ = http_get(url, path, token=token, headers={"Host": "evil.example:80"})
        assert status == 421
    status, _, _ = http_get(url, "/plugins/wasm-wat-text-tools/anything", token=token,
                            headers={"Origin": "http://localhost:3000"})
    assert status == 404  # a local origin with the token is let through (this plugin has no such route)


@needs_node
async def test_plugin_routes_answer_with_the_token_and_say_why_when_they_cannot(
        home: Path, http_host: HostProcess) -> None:
    info = host_info(home)
    url, token = info["http"], info["token"]

    status, _, body = http_get(url, "/plugins/node-assistant-kit/status", token=token)
    assert status == 503 and "aleph-ext grant node-assistant-kit" in json.loads(body)["error"]

    assert (await ext(home, "grant", "node-assistant-kit")).returncode == 0
    status, headers, body = http_get(url, "/plugins/node-assistant-kit/status?day=1&tag=a&tag=b", token=token)
    assert status == 200 and headers["content-type"] == "application/json"
    doc = json.loads(body)
    assert doc["plugin"] == "node-assistant-kit" and doc["query"] == {"day": "1", "tag": ["a", "b"]}
    records = await asyncio.to_thread(call_sync, home, "log", {"limit": 20}, client="test")
    assert [(r["event"], r["client"]) for r in records if r["event"] == "http_route"] == [("http_route", "http")]

    status, _, body = http_get(url, "/plugins/node-assistant-kit/nowhere", token=token)
    assert status == 404 and json.loads(body) == {"error": "node-assistant-kit: has no HTTP route for GET /nowhere",
                                                  "plugin": "node-assistant-kit"}
    status, _, body = http_get(url, "/plugins/node-assistant-kit/status", token=token, method="POST", body=b"{}")
    assert status == 404
    status, _, body = http_get(url, "/plugins/nobody-here/status", token=token)
    assert status == 404 and "no plugin 'nobody-here' is installed" in json.loads(body)["error"]

    assert (await ext(home, "disable", "node-assistant-kit")).returncode == 0
    status, _, body = http_get(url, "/plugins/node-assistant-kit/status", token=token)
    error = json.loads(body)["error"]
    assert status == 503 and "disabled" in error and "aleph-ext enable node-assistant-kit" in error
    assert "Traceback" not in error


def test_a_port_that_is_taken_is_one_sentence_and_exit_1(home: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin", "serve",
                               "--http", str(port)], capture_output=True, text=True, timeout=120, env=cli_env(home))
    finally:
        taken.close()
    assert done.returncode == 1
    assert f"aleph-ext serve: no HTTP gateway: port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "Traceback" not in done.stderr and not (home / "host.json").exists()


@needs_node
async def test_two_plugins_with_the_same_route_both_answer_and_both_show_the_conflict(home: Path) -> None:
    for plugin_id in ("kit-a", "kit-b"):
        folder = add_demo(home, "node-assistant-kit")
        manifest = json.loads((folder / "package.json").read_text())
        manifest["name"] = plugin_id
        (folder / "package.json").write_text(json.dumps(manifest))
        folder.rename(home / "plugins" / plugin_id)
    await grant(home, "kit-a", "kit-b")
    listed = {p["id"]: p for p in json.loads((await ext(home, "list", "--json")).stdout)}
    sentence = ("HTTP route 'GET /status' is provided by both 'kit-a' and 'kit-b'; each is served under its own "
                "plugin (/plugins/kit-a/…, /plugins/kit-b/…)")
    assert sentence in listed["kit-a"]["conflicts"] and sentence in listed["kit-b"]["conflicts"]
    assert sentence in (await ext(home, "show", "kit-b")).stdout
    host = HostProcess(home, ["--no-builtin"], ROOT, serve_options=("--http", "0"))
    try:
        await asyncio.to_thread(host.wait_until_serving)
        await asyncio.to_thread(wait_for, lambda: host_info(home)["http"], 30.0, "the URL")
        info = host_info(home)
        for plugin_id in ("kit-a", "kit-b"):
            status, _, body = await asyncio.to_thread(http_get, info["http"], f"/plugins/{plugin_id}/status",
                                                      token=info["token"])
            assert status == 200 and json.loads(body)["plugin"] == plugin_id
    finally:
        code, err = await asyncio.to_thread(host.stop)
        assert code == 0, err
