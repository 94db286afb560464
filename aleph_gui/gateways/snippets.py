"""The text a user pastes to connect an agent: Claude Code and Claude Desktop settings, an MCP SDK client, curl.

`command` is the absolute command line that starts this aleph-ext (`claude_config.aleph_ext_command`), with
`--home DIR` when the home is not the default one. Stdlib only.
"""

from __future__ import annotations

import json
import shlex

from aleph_gui.gateways.claude_config import SERVER_NAME, server_entry


def claude_code(command: list[str], mcp_url: str | None = None, token: str = "") -> str:
    """Claude Code: `claude mcp add` for the stdio server (and the HTTP one while it runs), plus the hooks."""
    lines = ["# the MCP server `aleph` and the hook bridge (every hook event through Aleph's chain):",
             shlex.join([*command, "claude", "install"]),
             "",
             "# or only the MCP server, with Claude Code's own command:",
             shlex.join(["claude", "mcp", "add", "--scope", "user", SERVER_NAME, "--", *command, "mcp", "serve"])]
    lines += ["", "# or, by hand, in a project's .mcp.json (or ~/.claude.json under \"mcpServers\"):",
              json.dumps({"mcpServers": {SERVER_NAME: server_entry(command)}}, indent=2)]
    if mcp_url:
        lines += ["", "# or over HTTP, to the running host (only while it serves HTTP):",
                  shlex.join(["claude", "mcp", "add", "--transport", "http", "--scope", "user", f"{SERVER_NAME}-http",
                              mcp_url, "--header", f"Authorization: Bearer {token}"])]
    return "\n".join(lines) + "\n"


def claude_desktop(command: list[str]) -> str:
    """The `mcpServers` entry of claude_desktop_config.json."""
    return json.dumps({"mcpServers": {SERVER_NAME: server_entry(command)}}, indent=2) + "\n"


def python_client(command: list[str], mcp_url: str | None = None, token: str = "") -> str:
    """A client built on the official `mcp` Python SDK: stdio, or streamable HTTP while it runs."""
    if mcp_url:
        return f'''import asyncio

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

URL = {mcp_url!r}
TOKEN = {token!r}  # from host.json; keep it secret


async def main() -> None:
    async with create_mcp_http_client(headers={{"Authorization": f"Bearer {{TOKEN}}"}}) as http:
        async with streamable_http_client(URL, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                print([tool.name for tool in tools.tools])


asyncio.run(main())
'''
    return f'''import asyncio

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

SERVER = StdioServerParameters(command={command[0]!r}, args={[*command[1:], "mcp", "serve"]!r})


async def main() -> None:
    async with stdio_client(SERVER) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print([tool.name for tool in tools.tools])


asyncio.run(main())
'''


def curl(base_url: str | None, token: str, routes: list[tuple[str, str, str]]) -> str:
    """curl for the plugins' HTTP routes; `routes` = (plugin id, method, path)."""
    if not base_url:
        return "# Turn HTTP on to call plugins' HTTP routes.\n"
    header = f"Authorization: Bearer {token}"
    if not routes:
        return ("# No running plugin has an HTTP route; a route answers at\n"
                + shlex.join(["curl", "-H", header, f"{base_url}/plugins/PLUGIN-ID/PATH"]) + "\n")
    lines = []
    for plugin, method, path in routes:
        url = f"{base_url}/plugins/{plugin}/{path.strip('/')}"
        lines.append(shlex.join(["curl", *(["-X", method] if method not in ("GET", "*", "ANY") else []),
                                 "-H", header, url]))
    return "\n".join(lines) + "\n"
