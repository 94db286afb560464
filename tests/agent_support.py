"""Helpers for the agent gateway tests: a home with demo plugins (granted), a guard plugin, and real `mcp` SDK
clients — stdio against `aleph-ext mcp serve` as a process, streamable HTTP against `aleph-ext serve --http`."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
from host_support import cli_env
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "plugins_demo"
OPTIONS = ("--no-builtin",)

# A Node.js guard: blocks tool calls whose arguments say "forbidden" or run `rm -rf`, rewrites `npm test`.
GUARD_MANIFEST = {"name": "tool-guard", "version": "1.0.0", "main": "index.js", "aleph": {
    "kind": "nodejs", "capabilities": [{"type": "hook", "event": "before_tool_call", "handler": "guard"}],
    "scope": {"allowed_apis": ["log"]}}}
GUARD_JS = """module.exports = { register(api) {
  api.on('before_tool_call', function guard(event) {
    const args = (event.data && event.data.arguments) || {};
    if (JSON.stringify(args).includes('forbidden')) return api.block('the word "forbidden" may not reach a tool');
    if (String(args.command || '').includes('rm -rf')) return api.block('rm -rf deletes files without asking');
    if (args.command === 'npm test') return api.intercept({ ...event.data, arguments: { ...args, command: 'npm test -- --bail' } });
    return api.continue();
  });
} };
"""


def add_demo(home: Path, name: str) -> Path:
    return Path(shutil.copytree(DEMOS / name, home / "plugins" / name,
                                ignore=shutil.ignore_patterns("node_modules")))


def add_guard(home: Path) -> Path:
    folder = home / "plugins" / "tool-guard"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps(GUARD_MANIFEST))
    (folder / "index.js").write_text(GUARD_JS)
    return folder


async def grant(home: Path, *plugin_ids: str) -> None:
    """Approve what the plugins ask for, as `aleph-ext grant` does (a manager that runs no plugin code)."""
    manager = ExtensionManager(Locations(home=home, project=None, builtin=None), load=False)
    await manager.discover()
    for plugin_id in plugin_ids:
        await manager.grant(plugin_id)
    manager.state.close()


async def until(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Wait (without blocking the loop) until `condition()` is true; its value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)
    return value


async def ext(home: Path, *args: str, options: tuple[str, ...] = OPTIONS) -> subprocess.CompletedProcess[str]:
    """`aleph-ext --home HOME --no-builtin ARGS` as a process (off the test's loop)."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "aleph_gui.cli", "--home", str(home), *options, *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=cli_env(home))


def stdio_params(home: Path, *options: str, cwd: Path = ROOT) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable,
                                 args=["-m", "aleph_gui.cli", "--home", str(home), *options, "mcp", "serve"],
                                 env=cli_env(home), cwd=str(cwd))


class Notifications:
    """What the server told the client on its own (list_changed), with a wait for one."""

    def __init__(self) -> None:
        self.methods: list[str] = []
        self._changed = asyncio.Condition()

    async def __call__(self, message: Any) -> None:
        if isinstance(message, Exception):
            return
        async with self._changed:
            self.methods.append(message.method)
            self._changed.notify_all()

    async def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.methods.count(method) >= count), timeout)


@asynccontextmanager
async def stdio_session(home: Path, *options: str, client: str = "claude-code",
                        notifications: Notifications | None = None,
                        errlog: Any = None) -> AsyncIterator[ClientSession]:
    """An SDK client session with `aleph-ext mcp serve` (a process), initialized."""
    params = stdio_params(home, *(options or OPTIONS))
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write), \
            ClientSession(read, write, client_info=types.Implementation(name=client, version="1.0"),
                          message_handler=notifications) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(base_url: str, token: str, *, client: str = "sdk-http",
                       notifications: Notifications | None = None) -> AsyncIterator[ClientSession]:
    """An SDK client session over streamable HTTP at `base_url`/mcp, initialized."""
    async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http, \
            streamable_http_client(base_url + "/mcp", http_client=http) as (read, write), \
            ClientSession(read, write, client_info=types.Implementation(name=client, version="1.0"),
                          message_handler=notifications) as session:
        await session.initialize()
        yield session


class ErrLog:
    """A file for a server process's stderr (the SDK hands it to the process), readable while it runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("w", encoding="utf-8")

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8", errors="replace")


def text_of(result: types.CallToolResult) -> str:
    return "".join(c.text for c in result.content if isinstance(c, types.TextContent))


def host_info(home: Path) -> dict[str, Any]:
    return json.loads((home / "host.json").read_text())  # type: ignore[no-any-return]


def http_get(base_url: str, path: str, *, token: str | None = None, method: str = "GET",
             headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request (stdlib): (status, lower-cased headers, body)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=body, headers=sent)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()
