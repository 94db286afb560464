"""Agent gateway benchmarks: what an agent waits for when it goes through Aleph.

Measured in the same run, rounds interleaved (only ratios are comparable on a noisy machine):
  * mcp_tools_call_p50 — p50 of `tools/call` of a WASM tool (wasm-wat-text-tools `uppercase`) from an `mcp` SDK
    client through `aleph-ext mcp serve` (a process relaying to a running `aleph-ext serve`), vs the same SDK
    client calling a minimal SDK stdio server whose tool just echoes. Goal (issue 15): <= 1.5x.
  * claude_hook_e2e_p50 — p50 of `aleph-ext claude hook` end to end (process start -> decision on stdout/exit
    code) for a `PreToolUse` payload, with a host running a chain of 3 handlers (three WASM plugins listening to
    before_tool_call), vs `python -I -c pass` (the same interpreter) in the same run. Goal: <= 3x.
  * http_route_p50 — p50 of an HTTP route round trip (client -> host's HTTP gateway -> Node.js plugin
    node-assistant-kit `GET /status` -> back), vs a bare ASGI echo endpoint on the same uvicorn server (same
    client, same request headers, same keep-alive connection kind). Goal: <= 2x.

Usage: python tests/benchmarks/bench_agents.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import host_process  # noqa: E402
import mcp_types as types  # noqa: E402
from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402

from aleph_gui.host.client import call_sync  # noqa: E402

BIN = Path(sys.executable).parent
ALEPH_EXT = str(BIN / "aleph-ext") if (BIN / "aleph-ext").exists() else None
WAT = "wasm-wat-text-tools"
KIT = "node-assistant-kit"
TOKEN = "bench-token-0123456789abcdefghijklmnopqrstuvwxyz"

# The baseline MCP server: the SDK's low-level server on stdio with one tool that echoes its text.
ECHO_MCP = r"""
import anyio
import mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server


async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="echo", input_schema={"type": "object"})])


async def call_tool(ctx, params):
    return types.CallToolResult(content=[types.TextContent(text=params.arguments["text"])])


server = Server("echo", on_list_tools=list_tools, on_call_tool=call_tool)


async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""

# The HTTP host for http_route_p50: the host's own HTTP gateway (the same app `serve --http` runs) with a bare ASGI
# echo mounted beside it on the same uvicorn server. Prints {"url"} when ready; stops when stdin closes.
HTTP_HOST = r"""
import asyncio, json, sys
from pathlib import Path
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.gateways.http_gateway import HttpGateway

BODY = json.dumps({"plugin": "echo", "clock": {"running": False, "ticks": 0}, "query": {}}).encode()


async def echo(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": BODY})


async def main(home, token):
    manager = ExtensionManager(Locations(home=Path(home), project=None, builtin=None))
    await manager.start()
    gateway = HttpGateway(manager, token, 0, mounts={"/echo": echo})
    url = await gateway.start()
    print(json.dumps({"url": url}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await gateway.stop()
    await manager.stop()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p99(samples: list[float]) -> float:
    return sorted(samples)[int(len(samples) * 0.99)]


def result(metric: str, value: float, baseline: float, unit: str, goal: str, ok: bool, ratio: float) -> str:
    return (f"RESULT {metric} value={value:.1f}{unit} baseline={baseline:.1f}{unit} ratio={ratio:.3f} "
            f"goal={goal} {'ok' if ok else 'FAIL'}")


def ext(home: Path, *args: str) -> list[str]:
    head = [ALEPH_EXT] if ALEPH_EXT else [sys.executable, "-m", "aleph_gui.cli"]
    return [*head, "--home", str(home), "--no-builtin", *args]


def make_home(base: Path, name: str, demos: list[str], grant: list[str]) -> Path:
    home = base / name
    for demo in demos:
        shutil.copytree(ROOT / "plugins_demo" / demo, home / "plugins" / demo,
                        ignore=shutil.ignore_patterns("node_modules"))
    for plugin_id in grant:
        subprocess.run(ext(home, "grant", plugin_id), check=True, capture_output=True, cwd=base)
    return home


def guard_copies(home: Path, n: int) -> None:
    """`n` copies of the WAT demo whose handler listens to before_tool_call: a chain of `n` WASM handlers."""
    for i in range(n):
        folder = shutil.copytree(ROOT / "plugins_demo" / WAT, home / "plugins" / f"guard-{i}")
        manifest = folder / "aleph.plugin.toml"
        text = manifest.read_text().replace(f'id = "{WAT}"', f'id = "guard-{i}"')
        manifest.write_text(text.replace('event = "message_received"', 'event = "before_tool_call"'))


def start_host(home: Path, base: Path) -> subprocess.Popen[str]:
    return host_process.start_host(ext(home, "serve"), home, base)


# -- mcp_tools_call_p50 -----------------------------------------------------------------------------------


async def calls(session: ClientSession, tool: str, n: int, expected: str) -> list[float]:
    samples = []
    for i in range(n):
        text = f"hello from the bench {i}"
        start = time.perf_counter()
        answer = await session.call_tool(tool, {"text": text})
        samples.append(time.perf_counter() - start)
        got = "".join(c.text for c in answer.content if isinstance(c, types.TextContent))
        assert not answer.is_error and expected.format(text=text, upper=text.upper()) == got, got
    return samples


async def mcp_latency(base: Path, rounds: int, per_round: int) -> str:
    home = make_home(base, "mcp-home", [WAT], [WAT])
    host = start_host(home, base)
    echo_script = base / "echo_mcp.py"
    echo_script.write_text(ECHO_MCP)
    aleph_params = StdioServerParameters(command=ext(home, "mcp", "serve")[0], args=ext(home, "mcp", "serve")[1:],
                                         cwd=str(base))
    echo_params = StdioServerParameters(command=sys.executable, args=[str(echo_script)], cwd=str(base))
    info = types.Implementation(name="bench", version="1")
    aleph_samples: list[float] = []
    echo_samples: list[float] = []
    try:
        async with stdio_client(aleph_params) as (ar, aw), ClientSession(ar, aw, client_info=info) as aleph, \
                stdio_client(echo_params) as (er, ew), ClientSession(er, ew, client_info=info) as echo:
            await aleph.initialize()
            await echo.initialize()
            assert "uppercase" in {t.name for t in (await aleph.list_tools()).tools}
            await echo.list_tools()
            await calls(aleph, "uppercase", 100, '{{"text": "{upper}"}}')  # warm up both paths
            await calls(echo, "echo", 100, "{text}")
            for _ in range(rounds):
                aleph_samples += await calls(aleph, "uppercase", per_round, '{{"text": "{upper}"}}')
                echo_samples += await calls(echo, "echo", per_round, "{text}")
        served = call_sync(home, "log", {"limit": 5, "event": "tool_call"}, client="bench")
        assert served and served[-1]["client"] == "bench", "the calls did not go through the host"
    finally:
        host_process.stop(host)
    value, baseline = p50(aleph_samples) * 1e6, p50(echo_samples) * 1e6
    ratio = value / baseline
    print(f"tools/call through aleph-ext mcp serve -> host: p50 {value:.0f} us (p99 {p99(aleph_samples) * 1e6:.0f} "
          f"us); minimal SDK echo server: p50 {baseline:.0f} us (p99 {p99(echo_samples) * 1e6:.0f} us); "
          f"{len(aleph_samples)} calls each")
    return result("mcp_tools_call_p50", value, baseline, "us", "<=1.5", ratio <= 1.5, ratio)


# -- claude_hook_e2e_p50 --------------------------------------------------------------------------------


def run_once(argv: list[str], stdin: bytes | None) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True)
    return time.perf_counter() - start, done


def hook_latency(base: Path, rounds: int, per_round: int) -> str:
    home = make_home(base, "hook-home", [], [])
    guard_copies(home, 3)
    for i in range(3):  # nothing runs unreviewed; the user approves each guard once
        subprocess.run(ext(home, "grant", f"guard-{i}"), check=True, capture_output=True, cwd=base)
    payload = json.dumps({"session_id": "bench", "transcript_path": "/tmp/bench.jsonl", "cwd": str(base),
                          "hook_event_name": "PreToolUse", "tool_name": "Bash",
                          "tool_input": {"command": "npm test", "description": "Run the tests"},
                          "tool_use_id": "toolu_bench"}).encode()
    host = start_host(home, base)
    hook_argv = ext(home, "claude", "hook")
    bare_argv = [sys.executable, "-I", "-c", "pass"]
    hooks: list[float] = []
    bare: list[float] = []
    try:
        for _ in range(5):  # warm up: page cache, the WASM instances
            run_once(hook_argv, payload)
            run_once(bare_argv, None)
        for _ in range(rounds):
            for _ in range(per_round):
                took, done = run_once(hook_argv, payload)
                assert (done.returncode, done.stdout, done.stderr) == (0, b"", b""), done
                hooks.append(took)
                bare.append(run_once(bare_argv, None)[0])
        trace = call_sync(home, "log", {"limit": 3, "event": "before_tool_call"}, client="bench")
        assert [(r["plugin"], r["client"]) for r in trace] == [(f"guard-{i}", "claude-code") for i in range(3)], trace
    finally:
        host_process.stop(host)
    value, baseline = p50(hooks) * 1e3, p50(bare) * 1e3
    ratio = value / baseline
    print(f"aleph-ext claude hook (host, 3 handlers): p50 {value:.1f} ms (p99 {p99(hooks) * 1e3:.1f} ms); "
          f"python -I -c pass: p50 {baseline:.1f} ms; {len(hooks)} runs each")
    return result("claude_hook_e2e_p50", value, baseline, "ms", "<=3", ratio <= 3, ratio)


# -- http_route_p50 -------------------------------------------------------------------------------------------


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> tuple[float, bytes]:
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    answer = conn.getresponse()
    body = answer.read()
    took = time.perf_counter() - start
    assert answer.status == 200, (answer.status, body)
    return took, body


def http_latency(base: Path, rounds: int, per_round: int) -> str:
    home = make_home(base, "http-home", [KIT], [KIT])
    server = subprocess.Popen([sys.executable, "-c", HTTP_HOST, str(home), TOKEN], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert server.stdout is not None and server.stdin is not None
    url = json.loads(server.stdout.readline())["url"]
    port = int(url.rsplit(":", 1)[1])
    route_conn, echo_conn = (http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(2))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    route: list[float] = []
    echoed: list[float] = []
    try:
        for _ in range(500):  # warm up: the Node.js process (V8 optimises hot code), connections
            get(route_conn, f"/plugins/{KIT}/status", auth)
            get(echo_conn, "/echo", auth)
        for _ in range(rounds):
            for _ in range(per_round):
                took, body = get(route_conn, f"/plugins/{KIT}/status", auth)
                route.append(took)
            assert json.loads(body)["plugin"] == KIT
            for _ in range(per_round):
                echoed.append(get(echo_conn, "/echo", auth)[0])  # the same request headers: only the endpoint differs
    finally:
        route_conn.close()
        echo_conn.close()
        server.stdin.close()
        server.wait(timeout=60)
    value, baseline = p50(route) * 1e6, p50(echoed) * 1e6
    ratio = value / baseline
    print(f"GET /plugins/{KIT}/status (token, Node.js handler): p50 {value:.0f} us (p99 {p99(route) * 1e6:.0f} us); "
          f"bare ASGI echo on the same server: p50 {baseline:.0f} us; {len(route)} requests each")
    return result("http_route_p50", value, baseline, "us", "<=2", ratio <= 2, ratio)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls; finishes in under 30 s")
    args = parser.parse_args()
    mcp_rounds, hook_rounds, http_rounds = ((6, 60), (5, 6), (8, 150)) if args.quick else \
        ((30, 100), (20, 10), (30, 200))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    base = Path(tempfile.mkdtemp(prefix="bench-agents-"))
    lines = []
    try:
        lines.append(asyncio.run(mcp_latency(base, *mcp_rounds)))
        lines.append(hook_latency(base, *hook_rounds))
        lines.append(http_latency(base, *http_rounds))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for line in lines:
        print(line)
    return 0 if all(line.endswith(" ok") for line in lines) else 1


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
