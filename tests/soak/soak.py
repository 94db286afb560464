"""Soak with chaos: the real ExtensionManager (watching its folders) runs the demo plugins for SOAK_SECONDS
(default 600) under random user operations while a chaos task kills Node plugin processes, writes garbage
into manifests and makes a plugin flood its stdout.

Invariants, checked all along: the manager answers every operation; every fired event gets exactly one
decision; the database passes `PRAGMA integrity_check` and agrees with what the manager reports; after
shutdown no plugin process remains; open file descriptors and RSS show no growth after warm-up.

    python tests/soak/soak.py [--seconds N] [--seed N] [-v]

Ends with one line, and exits non-zero when an invariant broke:
    SOAK seconds=<s> ops=<n> events=<n> errors=<n> leaked_processes=<n> fd_growth=<n> rss_growth_mb=<x>
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from aleph_gui.core.discovery import load_one
from aleph_gui.core.errors import AlephError
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations
from aleph_gui.core.state import StateDB

log = logging.getLogger("soak")

DEMOS = Path(__file__).resolve().parents[2] / "plugins_demo"
OP_TIMEOUT_S = 60  # an operation not answered in this time means the manager hangs
FD_GROWTH_LIMIT = 32
RSS_GROWTH_LIMIT_MB = 96.0
DECISIONS = ("continue", "intercept", "block")

# A Node plugin of our own that misbehaves on request: garbage and floods on stdout and stderr.
FLOODER_PACKAGE = {
    "name": "soak-flooder", "version": "1.0.0", "main": "index.js",
    "aleph": {"kind": "nodejs", "capabilities": [
        {"type": "tool", "name": "echo"}, {"type": "tool", "name": "flood"}, {"type": "tool", "name": "big_line"}]},
}
FLOODER_JS = r"""'use strict';
exports.register = (api) => {
  api.registerTool({ name: 'echo', execute: async (args) => ({ echo: args }) });
  api.registerTool({ name: 'flood', execute: () => {
    for (let i = 0; i < 2000; i += 1) process.stderr.write(`noise ${i}\n`);
    for (let i = 0; i < 200; i += 1) process.stdout.write(`not json ${i} {"jsonrpc": "2.0", "id": 999999}\n`);
    return 'flooded';
  } });
  api.registerTool({ name: 'big_line', execute: () => {
    process.stdout.write('x'.repeat(4 * 1024 * 1024) + '\n');
    return 'wrote 4 MiB';
  } });
};
"""

TOOL_CALLS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "wasm-wat-text-tools": [("uppercase", {"text": "hello soak"}), ("word_count", {"text": "a b c"})],
    "node-jsonrpc-server": [("text_stats", {"text": "one two"}), ("ticks", {})],
    "node-weather-tools": [("forecast", {"city": "Quito", "days": 2})],
    "soak-flooder": [("echo", {"n": 1}), ("flood", {}), ("big_line", {})],
}
EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("message_received", {"text": "buy spam now"}),
    ("message_received", {"text": "hello"}),
    ("tool_invoked", {"tool": "forecast"}),
    ("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "rm -rf /"}}),
    ("PreToolUse", {"tool_name": "Bash", "tool_input": {"command": "ls"}}),
]
GARBAGE = [b"", b"\x00\xff\xfe garbage", b"[plugin\nid = ", b"{\"aleph\": nul", b"x" * 70_000, "\u202e".encode() * 100]


@dataclass
class Report:
    seconds: float = 0.0
    ops: int = 0
    events: int = 0
    errors: int = 0  # typed AlephErrors: what a user sees as one sentence (expected under chaos)
    leaked_processes: int = 0
    fd_growth: int = 0
    rss_growth_mb: float = 0.0
    violations: list[str] = field(default_factory=list)
    by_op: Counter[str] = field(default_factory=Counter)
    error_kinds: Counter[str] = field(default_factory=Counter)
    chaos: Counter[str] = field(default_factory=Counter)
    max_loop_lag_s: float = 0.0

    def line(self) -> str:
        return (f"SOAK seconds={self.seconds:.0f} ops={self.ops} events={self.events} errors={self.errors} "
                f"leaked_processes={self.leaked_processes} fd_growth={self.fd_growth} "
                f"rss_growth_mb={self.rss_growth_mb:.1f}")


def node_children() -> list[psutil.Process]:
    """Node plugin processes: children (at any depth) of this process, still running."""
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "node" in child.name():
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def living_children() -> list[psutil.Process]:
    out = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                out.append(child)
        except psutil.NoSuchProcess:
            continue
    return out


def prepare_home(base: Path) -> tuple[Locations, list[str], dict[str, Path]]:
    """Copy the demo plugins (skipping any whose build output is missing) and add the flooder."""
    plugins = base / "home" / "plugins"
    plugins.mkdir(parents=True)
    for demo in sorted(DEMOS.iterdir()):
        if not demo.is_dir() or demo.name.startswith("."):
            continue
        if not load_one(demo, "user").valid:  # e.g. wasm-notes before `make demo-build`
            log.info("skipping %s: not valid here (build output missing?)", demo.name)
            continue
        shutil.copytree(demo, plugins / demo.name, ignore=shutil.ignore_patterns("node_modules"))
    flooder = plugins / "soak-flooder"
    flooder.mkdir()
    (flooder / "package.json").write_text(json.dumps(FLOODER_PACKAGE, indent=2))
    (flooder / "index.js").write_text(FLOODER_JS)
    project = base / "project"
    project.mkdir()
    manifests = {}
    ids = []
    for folder in plugins.iterdir():
        found = load_one(folder, "user")
        assert found.valid, (folder, found.problems)
        ids.append(found.id)
        if found.manifest_file:  # a manifest-less Claude layout has nothing to edit or break
            manifests[found.id] = folder / found.manifest_file
    return Locations(home=base / "home", project=project, builtin=None), sorted(ids), manifests


class Soak:
    def __init__(self, seconds: float, seed: int) -> None:
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.report = Report()
        self.samples: list[tuple[float, int, int]] = []  # (t, fds, rss)
        self.stop = asyncio.Event()
        self.originals: dict[Path, bytes] = {}

    # -- invariants ---------------------------------------------------------------------
    def violation(self, text: str) -> None:
        log.error("INVARIANT: %s", text)
        self.report.violations.append(text)

    async def guarded(self, name: str, op: Awaitable[Any]) -> Any:
        """Run one operation; it must answer in time with a result or a typed error."""
        self.report.ops += 1
        self.report.by_op[name] += 1
        try:
            return await asyncio.wait_for(op, OP_TIMEOUT_S)
        except AlephError as exc:
            self.report.errors += 1
            self.report.error_kinds[type(exc).__name__] += 1
            log.debug("%s: %s", name, exc)
        except TimeoutError:
            self.violation(f"the manager did not answer '{name}' within {OP_TIMEOUT_S} s")
        except Exception as exc:  # noqa: BLE001 - anything untyped is exactly what the soak hunts
            self.violation(f"'{name}' raised {type(exc).__name__}: {exc}")
        return None

    def check_database(self, m: ExtensionManager, probe: StateDB) -> None:
        """A second connection sees an intact database that says what the manager says."""
        if not probe.integrity_ok():
            self.violation("PRAGMA integrity_check failed")
        for info in m.plugins():
            if info.state == "overridden":
                continue
            grant = probe.grant(info.id)
            shown = info.grant.digest if info.grant else None
            if shown != (grant.digest if grant else None):
                self.violation(f"{info.id}: the manager shows grant {shown}, the database holds "
                               f"{grant.digest if grant else None}")
            if probe.enabled(info.id) is False and info.state not in ("disabled", "invalid", "needs_review"):
                self.violation(f"{info.id}: disabled in the database but shown as {info.state}")
            if info.state in ("disabled", "invalid") and m.is_loaded(info.id) and info.id not in self.broken_ids(m):
                self.violation(f"{info.id}: shown as {info.state} but its code is loaded")

    @staticmethod
    def broken_ids(m: ExtensionManager) -> set[str]:
        # A running plugin whose files broke keeps running (DESIGN: the old version stays).
        return {i.id for i in m.plugins() if i.state_reason.startswith("the new version on disk is broken")}

    # -- the user -------------------------------------------------------------------------
    async def user(self, m: ExtensionManager, ids: list[str], manifests: dict[str, Path], probe: StateDB) -> None:
        next_db_check = 0.0
        while not self.stop.is_set():
            pid = self.rng.choice(ids)
            roll = self.rng.random()
            if roll < 0.30:
                event, data = self.rng.choice(EVENTS)
                result = await self.guarded("fire", m.fire(event, dict(data)))
                if result is not None:
                    self.report.events += 1
                    if result.decision not in DECISIONS:
                        self.violation(f"event {event} got decision {result.decision!r}")
            elif roll < 0.55:
                calls = TOOL_CALLS.get(pid)
                if calls:
                    tool, args = self.rng.choice(calls)
                    await self.guarded(f"call {tool}", m.call_tool(pid, tool, dict(args)))
            elif roll < 0.63:
                await self.guarded("enable", m.enable(pid))
            elif roll < 0.68:
                await self.guarded("disable", m.disable(pid))
            elif roll < 0.76:
                await self.guarded("reload", m.reload(pid))
            elif roll < 0.83:
                await self.guarded("grant", m.grant(pid))
            elif roll < 0.86:
                await self.guarded("revoke", m.revoke(pid))
            elif roll < 0.92:
                await self.guarded("edit manifest", self.edit(manifests[self.rng.choice(sorted(manifests))]))
            elif roll < 0.95:
                await self.guarded("reload all", m.reload_all())
            else:
                await self.guarded("list", asyncio.sleep(0, m.plugins()))
            if time.monotonic() > next_db_check:
                self.check_database(m, probe)
                next_db_check = time.monotonic() + 2.0
            await asyncio.sleep(self.rng.uniform(0, 0.05))

    async def edit(self, manifest: Path) -> None:
        """A harmless edit the watcher hot-reloads: a comment (TOML) or a changed description (JSON)."""
        original = self.originals.setdefault(manifest, manifest.read_bytes())
        if manifest.suffix == ".toml":
            manifest.write_bytes(original + f"\n# edited {time.time()}\n".encode())
        else:
            doc = json.loads(original)
            doc["description"] = f"edited {time.time()}"
            manifest.write_text(json.dumps(doc))

    # -- chaos ------------------------------------------------------------------------------
    async def chaos(self, m: ExtensionManager, manifests: dict[str, Path]) -> None:
        broken: dict[Path, float] = {}
        while not self.stop.is_set():
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))
            roll = self.rng.random()
            if roll < 0.35:
                victims = node_children()
                for plugin_id in ("node-weather-tools", "node-jsonrpc-server"):
                    if victims:
                        break
                    # Node plugins start lazily (and may be off right now): wake one to have a victim
                    tool, args = TOOL_CALLS[plugin_id][0]
                    await self.guarded(f"call {tool}", m.call_tool(plugin_id, tool, args))
                    victims = node_children()
                if victims:
                    victim = self.rng.choice(victims)
                    try:
                        victim.kill()
                        self.report.chaos["killed node"] += 1
                    except psutil.NoSuchProcess:
                        pass
            elif roll < 0.6:
                manifest = self.rng.choice(sorted(manifests.values()))
                self.originals.setdefault(manifest, manifest.read_bytes())
                manifest.write_bytes(self.rng.choice(GARBAGE))
                broken[manifest] = time.monotonic() + self.rng.uniform(0.5, 3.0)
                self.report.chaos["garbage manifest"] += 1
            else:
                tool = self.rng.choice(["flood", "big_line"])
                await self.guarded(f"chaos {tool}", m.call_tool("soak-flooder", tool, {}))
                self.report.chaos[f"stdout {tool}"] += 1
            for manifest, when in list(broken.items()):  # the author fixes the file again
                if time.monotonic() > when:
                    manifest.write_bytes(self.originals[manifest])
                    del broken[manifest]
        for manifest in broken:
            manifest.write_bytes(self.originals[manifest])

    # -- resources ----------------------------------------------------------------------------
    async def sample(self) -> None:
        me = psutil.Process()
        start = time.monotonic()
        while not self.stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.5)
            lag = time.monotonic() - before - 0.5
            self.report.max_loop_lag_s = max(self.report.max_loop_lag_s, lag)
            self.samples.append((time.monotonic() - start, me.num_fds(), me.memory_info().rss))

    def growth(self) -> tuple[int, float]:
        """Median after warm-up (first quarter of the run) vs median of the last fifth."""
        if len(self.samples) < 10:
            return 0, 0.0
        warm = [s for s in self.samples if s[0] >= 0.25 * self.seconds]
        first = warm[: max(3, len(warm) // 5)]
        last = self.samples[-max(3, len(self.samples) // 5):]
        fds = statistics.median(s[1] for s in last) - statistics.median(s[1] for s in first)
        rss = (statistics.median(s[2] for s in last) - statistics.median(s[2] for s in first)) / 2**20
        return int(fds), float(rss)

    # -- the run -------------------------------------------------------------------------------
    async def run(self, base: Path) -> Report:
        locations, ids, manifests = prepare_home(base)
        started = time.monotonic()
        m = ExtensionManager(locations, watch=True)
        await m.start()
        probe = StateDB(locations.state_db)
        for pid in ids:
            await self.guarded("grant", m.grant(pid))
        tasks = [asyncio.create_task(self.user(m, ids, manifests, probe), name="user"),
                 asyncio.create_task(self.chaos(m, manifests), name="chaos"),
                 asyncio.create_task(self.sample(), name="sample")]
        try:
            await asyncio.sleep(self.seconds)
        finally:
            self.stop.set()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            for task, outcome in zip(tasks, done, strict=True):
                if isinstance(outcome, BaseException):
                    self.violation(f"the {task.get_name()} task died: {type(outcome).__name__}: {outcome}")
            for manifest, original in self.originals.items():
                manifest.write_bytes(original)
            await self.guarded("reload all", m.reload_all())
            self.check_database(m, probe)
            await asyncio.wait_for(m.stop(), OP_TIMEOUT_S)
            probe.close()
        self.report.seconds = time.monotonic() - started
        deadline = time.monotonic() + 5
        while living_children() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        leftovers = living_children()
        self.report.leaked_processes = len(leftovers)
        for proc in leftovers:
            with contextlib.suppress(psutil.Error):
                command = " ".join(proc.cmdline())[-300:]  # the end names the plugin's own program
                self.violation(f"process {proc.pid} ({proc.name()}: …{command}) outlived the manager")
                proc.kill()
        self.report.fd_growth, self.report.rss_growth_mb = self.growth()
        if self.report.fd_growth > FD_GROWTH_LIMIT:
            self.violation(f"open file descriptors grew by {self.report.fd_growth} after warm-up")
        if self.report.rss_growth_mb > RSS_GROWTH_LIMIT_MB:
            self.violation(f"RSS grew by {self.report.rss_growth_mb:.1f} MB after warm-up")
        if self.report.events == 0 or self.report.ops < 10:
            self.violation("the soak did almost nothing")
        return self.report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", time.time_ns() % 100_000)))
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    # Plugin misbehaviour is logged by the app as it should be; only our own findings are shown.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.CRITICAL)
    log.setLevel(logging.INFO if args.verbose else logging.ERROR)
    base = Path(tempfile.mkdtemp(prefix="aleph-soak-"))
    soak = Soak(args.seconds, args.seed)
    try:
        report = asyncio.run(soak.run(base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"seed={args.seed} ops by kind: {dict(report.by_op)}", file=sys.stderr)
    print(f"typed errors: {dict(report.error_kinds)}; chaos: {dict(report.chaos)}; "
          f"max event-loop lag: {report.max_loop_lag_s:.2f} s", file=sys.stderr)
    for text in report.violations:
        print(f"VIOLATION {text}", file=sys.stderr)
    print(report.line(), flush=True)
    return 1 if report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
