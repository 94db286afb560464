"""OS sandbox overhead: a command hook's command and a Node plugin's spawn, sandboxed vs not.

Measured in the same run, rounds interleaved so machine noise hits both sides alike:
  * sandbox_command_p50: `sh -c 'cat >/dev/null; exit 0'` fed a small event JSON on stdin, the way
    the command-hook runtime runs a hook — through the plugin's persistent sandbox
    (`PersistentSandbox.spawn` + `communicate`) vs `asyncio.create_subprocess_exec` unsandboxed;
  * sandbox_node_spawn_p50: `node -e` printing a ready line, spawned wrapped in a fresh bwrap
    (`bwrap_argv`) vs the same node unsandboxed, timed from spawn to the ready line.
Goals (issue 13): both p50 <= 1.3x the unsandboxed baseline.

Usage: python tests/benchmarks/bench_sandbox.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from aleph_gui.core.sandbox import (  # noqa: E402
    PersistentSandbox,
    SandboxPolicy,
    bwrap_argv,
    executable_prefixes,
    sandbox_status,
)

PIPE = asyncio.subprocess.PIPE
HOOK_COMMAND = ["sh", "-c", "cat >/dev/null; exit 0"]
EVENT = json.dumps({"hook_event_name": "PreToolUse", "session_id": "bench", "cwd": "/tmp",
                    "tool_name": "Bash", "tool_input": {"command": "ls -la"}}).encode()
NODE_READY = "process.stdout.write('ready\\n')"


async def hook_unsandboxed() -> float:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*HOOK_COMMAND, stdin=PIPE, stdout=PIPE, stderr=PIPE)
    await proc.communicate(EVENT)
    assert proc.returncode == 0
    return time.perf_counter() - t0


async def hook_sandboxed(sandbox: PersistentSandbox) -> float:
    t0 = time.perf_counter()
    proc = await sandbox.spawn(HOOK_COMMAND)
    await proc.communicate(EVENT)
    assert proc.returncode == 0
    return time.perf_counter() - t0


async def node_spawn(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, stdout=PIPE, env=env)
    assert proc.stdout is not None
    line = await proc.stdout.readline()
    took = time.perf_counter() - t0
    assert line == b"ready\n", line
    await proc.wait()
    return took


def result(metric: str, value: float, baseline: float, unit: str, goal: float) -> str:
    ratio = value / baseline
    return (f"RESULT {metric} value={value:.1f}{unit} baseline={baseline:.1f}{unit} ratio={ratio:.2f} "
            f"goal=<={goal} {'ok' if ratio <= goal else 'FAIL'}")


async def measure(quick: bool) -> list[str]:
    status = sandbox_status()
    if not status.available:
        raise SystemExit(f"cannot benchmark the sandbox: {status.sentence}")
    node = shutil.which("node")
    if node is None:
        raise SystemExit("cannot benchmark the sandbox: node is not installed")
    rounds = 200 if quick else 2000
    spawns = 12 if quick else 60
    with tempfile.TemporaryDirectory() as tmp:
        plugin = Path(tmp) / "bench-plugin"
        plugin.mkdir()
        policy = SandboxPolicy.build("bench-sandbox", plugin, runtime_paths=executable_prefixes(node))

        async with await PersistentSandbox.start(policy) as sandbox:
            for _ in range(20):  # warm both paths
                await hook_unsandboxed()
                await hook_sandboxed(sandbox)
            raw_hook, box_hook = [], []
            for _ in range(rounds):
                raw_hook.append(await hook_unsandboxed())
                box_hook.append(await hook_sandboxed(sandbox))

        # Both sides get the same environment (the sandbox's): e.g. NODE_EXTRA_CA_CERTS in the
        # user's would make only the unsandboxed node slower.
        env = policy.environment
        bare = [node, "-e", NODE_READY]
        wrapped = bwrap_argv(policy, bare)
        await node_spawn(bare, env)
        await node_spawn(wrapped, env)
        raw_node, box_node = [], []
        for _ in range(spawns):
            raw_node.append(await node_spawn(bare, env))
            box_node.append(await node_spawn(wrapped, env))

    us, ms = 1e6, 1e3
    hook_raw, hook_box = statistics.median(raw_hook) * us, statistics.median(box_hook) * us
    node_raw, node_box = statistics.median(raw_node) * ms, statistics.median(box_node) * ms
    print(f"command hook p50: unsandboxed {hook_raw:.0f} us, persistent sandbox {hook_box:.0f} us "
          f"({rounds} interleaved rounds; {status.sentence})")
    print(f"node spawn to ready p50: unsandboxed {node_raw:.1f} ms, in bwrap {node_box:.1f} ms ({spawns} rounds)")
    return [
        result("sandbox_command_p50", hook_box, hook_raw, "us", 1.3),
        result("sandbox_node_spawn_p50", node_box, node_raw, "ms", 1.3),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds; finishes in under 30 s")
    args = parser.parse_args()
    for line in asyncio.run(measure(args.quick)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
