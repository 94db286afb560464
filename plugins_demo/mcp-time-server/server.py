"""A small stdio MCP server (official `mcp` Python SDK): the current time and time-zone conversion.

Declared in `.mcp.json` alone; the Aleph Extension Manager starts it with its own Python
(`${ALEPH_PYTHON:-python3}`) and lists its tools (`aleph-ext mcp tools mcp-time-server time`).
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

try:  # mcp >= 2: FastMCP became MCPServer
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server  # type: ignore[no-redef]

server = Server("time")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}; use an IANA name like 'Europe/Paris'") from exc


@server.tool()
def current_time(timezone: str = "") -> str:
    """The current date and time in an IANA time zone (default: the server's default zone), ISO 8601."""
    zone = _zone(timezone or os.environ.get("TIME_SERVER_DEFAULT_TZ") or "UTC")
    return datetime.now(zone).isoformat(timespec="seconds")


@server.tool()
def convert_time(time: str, source_timezone: str, target_timezone: str) -> str:
    """Convert a wall-clock time 'HH:MM' (today) from one IANA time zone to another, ISO 8601."""
    hours, _, minutes = time.partition(":")
    source = datetime.now(_zone(source_timezone)).replace(hour=int(hours), minute=int(minutes or 0),
                                                          second=0, microsecond=0)
    return source.astimezone(_zone(target_timezone)).isoformat(timespec="minutes")


if __name__ == "__main__":
    server.run("stdio")
