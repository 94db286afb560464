"""Node.js plugin benchmark: a tool call through the manager beside a raw NDJSON echo with bare node.

Baselines, measured in the same run (only ratios are comparable on a noisy machine):
  * latency: p50/p99 of sequential round trips of one NDJSON line between Python and a bare `node`
    script that echoes it, vs `ExtensionManager.call_tool` on a module-shape plugin (sandboxed node,
    host script, registry, argument checks);
  * throughput with 64 calls in flight vs the raw echo pipelined 64 deep (medians of 10 alternating rounds);
  * spawn-to-ready of a plugin process vs a bare `node` that prints one line when it starts;
  * RSS of an idle plugin process vs an idle bare `node`.
Goals (issue 4): manager p50 <= 1.3x raw echo; throughput >= 50% of raw pipelined echo. The spawn and
memory goals (<= 1.5x bare node) are ours: the sandbox and host script must stay cheap.

Everything runs on one CPU (this process, and so every process it starts): on this 2-core VM the OS put
an echo process and its reader on the same CPU or on two by luck, and the raw echo's p50 swung between
36 and 64 us from run to run; on one CPU both paths pay the same wake-ups every run.

Usage: python tests/benchmarks/bench_node.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aleph_gui.core.manager import ExtensionManager  # noqa: E402
from aleph_gui.core.paths import Locations  # noqa: E402

WINDOW = 64

RAW_ECHO = r"""
let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const parts = (partial + chunk).split('\n');
  partial = parts.pop();
  for (const line of parts) if (line) process.stdout.write(line + '\n');
});
process.stdout.write('ready\n');
"""

PLUGIN_PACKAGE = {
    "name": "bench-echo", "version": "1.0.0", "main": "index.js",
    "aleph": {"kind": "nodejs", "capabilities": [{"type": "tool", "name": "echo"}]},
}
PLUGIN_CODE = "exports.register = (api) => api.registerTool({name: 'echo', execute: (args) => args});\n"
PAYLOAD = {"text": "hello from the benchmark", "n": 42}


def tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RawEcho:
    """The baseline: a bare node process echoing NDJSON lines, read with asyncio streams."""

    def __init__(self, script: Path) -> None:
        self.script = script
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> float:
        t0 = time.perf_counter()
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(self.script), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        await self.proc.stdout.readline()
        return time.perf_counter() - t0

    async def roundtrip(self, i: int) -> Any:
        assert self.proc and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": i, "params": PAYLOAD}).encode() + b"\n")
        await self.proc.stdin.drain()
        return json.loads(await self.proc.stdout.readline())

    async def pipelined(self, count: int) -> float:
        """Send `count` lines keeping WINDOW in flight; returns calls per second."""
        assert self.proc and self.proc.stdin and self.proc.stdout
        stdin, stdout = self.proc.stdin, self.proc.stdout
        sent = received = 0
        t0 = time.perf_counter()
        while received < count:
            while sent < count and sent - received < WINDOW:
                stdin.write(json.dumps({"jsonrpc": "2.0", "id": sent, "params": PAYLOAD}).encode() + b"\n")
                sent += 1
            await stdin.drain()
            json.loads(await stdout.readline())
            received += 1
        return count / (time.perf_counter() - t0)

    async def stop(self) -> None:
        if self.proc:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            await self.proc.wait()


async def call_through_manager(manager: ExtensionManager, args: dict[str, Any]) -> Any:
    """What is measured: one tool call as the app makes it."""
    return await manager.call_tool("bench-echo", "echo", args)


def pin_to_one_cpu() -> str:
    """Pin this process (and what it starts from now on) to the last CPU it may use."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (this system cannot)"
    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


async def measure(quick: bool) -> list[str]:
    print(f"all processes {pin_to_one_cpu()}")
    sequential = 1000 if quick else 10_000
    pipelined = 3000 if quick else 20_000
    rounds = 3 if quick else 10
    spawns = 5 if quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        script = base / "echo.js"
        script.write_text(RAW_ECHO)
        plugin = base / "home" / "plugins" / "bench-echo"
        plugin.mkdir(parents=True)
        (plugin / "package.json").write_text(json.dumps(PLUGIN_PACKAGE))
        (plugin / "index.js").write_text(PLUGIN_CODE)
        (base / "project").mkdir()
        locations = Locations(home=base / "home", project=base / "project", builtin=None)

        raw = RawEcho(script)
        await raw.start()
        async with ExtensionManager(locations) as manager:
            await manager.grant("bench-echo")  # nothing runs unreviewed; the user approves it once
            await call_through_manager(manager, PAYLOAD)  # spawn it, warm both paths
            for i in range(200):
                await raw.roundtrip(i)
                await call_through_manager(manager, PAYLOAD)

            raw_lat, man_lat = [], []
            for i in range(sequential):  # interleaved so both see the same machine noise
                t0 = time.perf_counter()
                await raw.roundtrip(i)
                t1 = time.perf_counter()
                result = await call_through_manager(manager, PAYLOAD)
                t2 = time.perf_counter()
                raw_lat.append(t1 - t0)
                man_lat.append(t2 - t1)
            assert result == PAYLOAD

            async def worker(n: int) -> None:
                for _ in range(n):
                    await call_through_manager(manager, PAYLOAD)

            # Rounds alternate between the two, so a slow moment of this shared machine hits both alike.
            raw_rates, man_rates = [], []
            per_round = pipelined // rounds // WINDOW * WINDOW
            for _ in range(rounds):
                raw_rates.append(await raw.pipelined(per_round))
                t0 = time.perf_counter()
                await asyncio.gather(*(worker(per_round // WINDOW) for _ in range(WINDOW)))
                man_rates.append(per_round / (time.perf_counter() - t0))
            raw_tput, man_tput = statistics.median(raw_rates), statistics.median(man_rates)

            pid = manager.plugin("bench-echo").runtime["pid"]
            await asyncio.sleep(0.5)
            plugin_rss = tree_rss(pid)  # node and, where sandboxed, the bubblewrap processes around it
        assert raw.proc is not None
        raw_rss = psutil.Process(raw.proc.pid).memory_info().rss
        await raw.stop()

        bare_spawn, plugin_spawn = [], []
        for _ in range(spawns):
            bare = RawEcho(script)
            bare_spawn.append(await bare.start())
            await bare.stop()
            async with ExtensionManager(locations) as manager:
                t0 = time.perf_counter()
                await call_through_manager(manager, PAYLOAD)  # lazy: the first call spawns
                plugin_spawn.append(time.perf_counter() - t0)

    us = 1e6
    raw_p50, man_p50 = statistics.median(raw_lat) * us, statistics.median(man_lat) * us
    raw_p99, man_p99 = percentile(raw_lat, 0.99) * us, percentile(man_lat, 0.99) * us
    spawn_raw, spawn_plugin = statistics.median(bare_spawn) * 1000, statistics.median(plugin_spawn) * 1000
    print(f"latency p50: raw {raw_p50:.0f} us, manager {man_p50:.0f} us; "
          f"p99: raw {raw_p99:.0f} us, manager {man_p99:.0f} us ({sequential} sequential calls)")
    per_round_ratios = " ".join(f"{m / r:.2f}" for m, r in zip(man_rates, raw_rates, strict=True))
    print(f"throughput with {WINDOW} in flight: raw {raw_tput:.0f}/s, manager {man_tput:.0f}/s (medians of "
          f"{len(raw_rates)} rounds; ratio per round: {per_round_ratios})")
    print(f"spawn to ready: bare node {spawn_raw:.1f} ms, plugin first call {spawn_plugin:.1f} ms")
    print(f"idle RSS: bare node {raw_rss / 2**20:.1f} MiB, plugin {plugin_rss / 2**20:.1f} MiB")

    def line(metric: str, value: float, baseline: float, unit: str, op: str, goal: float) -> str:
        ratio = value / baseline
        ok = ratio <= goal if op == "<=" else ratio >= goal
        return (f"RESULT {metric} value={value:.1f}{unit} baseline={baseline:.1f}{unit} ratio={ratio:.2f} "
                f"goal={op}{goal} {'ok' if ok else 'FAIL'}")

    return [
        line("node_call_p50", man_p50, raw_p50, "us", "<=", 1.3),
        line("node_throughput_64", man_tput, raw_tput, "/s", ">=", 0.5),
        line("node_spawn_to_ready", spawn_plugin, spawn_raw, "ms", "<=", 1.5),
        line("node_idle_rss", plugin_rss / 2**20, raw_rss / 2**20, "MiB", "<=", 1.5),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls; finishes in under 30 s")
    args = parser.parse_args()
    results = asyncio.run(measure(args.quick))
    for result in results:
        print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
