"""Host benchmark: a WASM tool call through the host endpoint from a separate client process, and ten
client processes calling at once.

Measured in the same run, rounds interleaved (only ratios are comparable on a noisy machine):
  * host_wasm_call_p50 — p50 of sequential `call` requests (wasm-wat-text-tools `uppercase`, granted) sent by a
    separate client process to `aleph-ext serve` over host.sock, vs the baseline: p50 of an NDJSON echo over a
    Unix socket (same framing, same client code, a separate echo server process) plus p50 of the same tool call
    in-process through `ExtensionManager.call_tool`. Goal (issue 14): <= 1.5x — the host adds little beyond
    the transport.
  * host_concurrent_calls — 10 client processes x 1,000 calls each, all at once (each client pipelines its
    calls on one connection). Every call must be answered exactly once with its own result (ids and results
    checked); the value is the number of calls answered correctly, the goal all 10,000. Throughput is
    reported beside it.

Usage: python tests/benchmarks/bench_host.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
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

from aleph_gui.core.manager import ExtensionManager  # noqa: E402
from aleph_gui.core.paths import Locations  # noqa: E402

PLUGIN = "wasm-wat-text-tools"
TOOL = "uppercase"

# An NDJSON JSON-RPC echo server: the same framing as the host (one JSON object per line, answered with
# {"jsonrpc", "id", "result"}), with the same asyncio.Protocol line splitting; it answers `params` back.
ECHO_SERVER = r"""
import asyncio, json, os, socket, sys

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, bytearray()

    def data_received(self, data):
        self.buffer += data
        start = 0
        while (end := self.buffer.find(b"\n", start)) >= 0:
            message = json.loads(self.buffer[start:end])
            start = end + 1
            answer = {"jsonrpc": "2.0", "id": message.get("id"), "result": message.get("params")}
            self.transport.write((json.dumps(answer, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
        del self.buffer[:start]

async def main(path):
    server = await asyncio.get_running_loop().create_unix_server(Echo, path)
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main(sys.argv[1]))
"""

# One client process: reads "host N" / "echo N" rounds on stdin, answers each with its latencies (seconds).
LATENCY_CLIENT = r"""
import json, os, sys, time
from pathlib import Path
from aleph_gui.host.client import SyncClient
from aleph_gui.host.info import connect_unix

home, echo_path = Path(sys.argv[1]), Path(sys.argv[2])
host = SyncClient.connect(home, "bench")
echo = SyncClient(connect_unix(echo_path), echo_path.parent)
params = {"plugin": "wasm-wat-text-tools", "tool": "uppercase", "arguments": {"text": "hello from the bench"}}
for line in sys.stdin:
    which, n = line.split()
    client = host if which == "host" else echo
    samples = []
    for _ in range(int(n)):
        start = time.perf_counter()
        answer = client.call("call", params)
        samples.append(time.perf_counter() - start)
    expected = {"text": "HELLO FROM THE BENCH"} if which == "host" else params
    assert answer == expected, answer
    print(json.dumps(samples), flush=True)
"""

# One of the concurrent clients: pipelines N calls with its own ids and texts, reads every answer, checks them.
CONCURRENT_CLIENT = r"""
import asyncio, json, os, sys, time
from aleph_gui.host import rpc

async def main(socket_path, me, n, start_at):
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=rpc.MAX_LINE)
    writer.write(rpc.request("hello", "client.hello", {"name": f"bench-{me}", "pid": os.getpid()}))
    await reader.readline()
    while time.time() < start_at:  # every client starts at the same moment
        await asyncio.sleep(0.001)
    begin = time.perf_counter()
    for i in range(n):
        writer.write(rpc.request(i, "call", {"plugin": "wasm-wat-text-tools", "tool": "uppercase",
                                             "arguments": {"text": f"client {me} call {i}"}}))
    await writer.drain()
    seen, wrong, duplicate = set(), 0, 0
    while len(seen) + wrong < n:
        line = await reader.readline()
        if not line:
            break
        message = json.loads(line)
        i = message.get("id")
        if i in seen:
            duplicate += 1
            continue
        if message.get("result") == {"text": f"CLIENT {me} CALL {i}".upper()}:
            seen.add(i)
        else:
            wrong += 1
    took = time.perf_counter() - begin
    print(json.dumps({"answered": len(seen), "wrong": wrong, "duplicate": duplicate, "seconds": took}))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
"""


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def result(metric: str, value: float, baseline: float, unit: str, goal: str, ok: bool, ratio: float) -> str:
    digits = 0 if unit == "calls" else 1  # counts are whole
    return (f"RESULT {metric} value={value:.{digits}f}{unit} baseline={baseline:.{digits}f}{unit} "
            f"ratio={ratio:.3f} goal={goal} {'ok' if ok else 'FAIL'}")


def make_home(base: Path, name: str) -> Path:
    home = base / name
    shutil.copytree(ROOT / "plugins_demo" / PLUGIN, home / "plugins" / PLUGIN)
    subprocess.run([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin", "--project",
                    str(base), "grant", PLUGIN], check=True, capture_output=True, cwd=base)
    return home


def start_host(home: Path, base: Path) -> subprocess.Popen[str]:
    return host_process.start_host([sys.executable, "-m", "aleph_gui.cli", "--home", str(home), "--no-builtin",
                              "--project", str(base), "serve"], home, base)


async def in_process_round(manager: ExtensionManager, n: int) -> list[float]:
    samples = []
    args = {"text": "hello from the bench"}
    for _ in range(n):
        start = time.perf_counter()
        await manager.call_tool(PLUGIN, TOOL, args)
        samples.append(time.perf_counter() - start)
    return samples


async def latency(base: Path, host_home: Path, rounds: int, per_round: int) -> str:
    echo_path = base / "echo.sock"
    echo = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, str(echo_path)], stdout=subprocess.PIPE, text=True)
    assert echo.stdout is not None and echo.stdout.readline().strip() == "ready"
    client = subprocess.Popen([sys.executable, "-c", LATENCY_CLIENT, str(host_home), str(echo_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert client.stdin is not None and client.stdout is not None
    local_home = make_home(base, "in-process-home")
    manager = ExtensionManager(Locations(home=local_home, project=base, builtin=None))
    await manager.start()
    host: list[float] = []
    echoed: list[float] = []
    local: list[float] = []
    try:
        def remote(which: str, n: int) -> list[float]:
            client.stdin.write(f"{which} {n}\n")  # type: ignore[union-attr]
            client.stdin.flush()  # type: ignore[union-attr]
            return json.loads(client.stdout.readline())  # type: ignore[union-attr,no-any-return]

        remote("host", 200)  # warm up every path (WASM instance, caches, connections)
        remote("echo", 200)
        await in_process_round(manager, 200)
        for _ in range(rounds):
            host += remote("host", per_round)
            echoed += remote("echo", per_round)
            local += await in_process_round(manager, per_round)
    finally:
        await manager.stop()
        client.stdin.close()
        client.wait(timeout=30)
        host_process.stop(echo)
    value, echo_p50, local_p50 = p50(host) * 1e6, p50(echoed) * 1e6, p50(local) * 1e6
    baseline = echo_p50 + local_p50
    ratio = value / baseline
    print(f"host call p50 {value:.1f} us (p99 {sorted(host)[int(len(host) * 0.99)] * 1e6:.1f} us); "
          f"echo p50 {echo_p50:.1f} us; in-process call_tool p50 {local_p50:.1f} us; {len(host)} calls each")
    return result("host_wasm_call_p50", value, baseline, "us", "<=1.5", ratio <= 1.5, ratio)


def concurrent(host_home: Path, clients: int, per_client: int) -> str:
    start_at = time.time() + 1.0 + 0.1 * clients  # after every client process has started and connected
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_CLIENT, str(host_home / "host.sock"), str(me),
                               str(per_client), str(start_at)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
             for me in range(clients)]
    reports = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    answered = sum(r["answered"] for r in reports)
    wrong = sum(r["wrong"] for r in reports)
    duplicate = sum(r["duplicate"] for r in reports)
    took = max(r["seconds"] for r in reports)
    total = clients * per_client
    print(f"{clients} clients x {per_client} calls: {answered} answered correctly, {wrong} wrong, "
          f"{duplicate} duplicated, {total - answered - wrong} lost; {answered / took:,.0f} calls/s "
          f"({took:.2f} s for all)")
    ok = answered == total and wrong == 0 and duplicate == 0
    return result("host_concurrent_calls", answered, total, "calls", f">={total}", ok, answered / total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls; finishes in under 30 s")
    args = parser.parse_args()
    rounds, per_round = (10, 100) if args.quick else (50, 200)
    base = Path(tempfile.mkdtemp(prefix="bench-host-"))
    lines = []
    try:
        host_home = make_home(base, "host-home")
        host = start_host(host_home, base)
        try:
            lines.append(asyncio.run(latency(base, host_home, rounds, per_round)))
            lines.append(concurrent(host_home, 10, 1000))
        finally:
            host_process.stop(host)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for line in lines:
        print(line)
    return 0 if all(line.endswith(" ok") for line in lines) else 1


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
