"""Hook executor overhead, and what the built-in secret guard adds to a tool call.

1. One event through 10 built-in Python handlers, tracing on. Beside it, in the same run: pluggy
   calling 10 implementations of one hook (the de-facto Python hook library) and a plain loop
   calling the same 10 functions (the floor nothing can beat). Goal: executor time per event
   <= 1.0x pluggy's.
2. A WASM tool call with 4 KB of realistic arguments (a file-writing tool's path, options and a
   Markdown document) through the manager with the built-in secret guard (WASM, real Extism) on
   `before_tool_call`, against the same call without it. Goal: the guard adds <= 50 us p50 (issue 16).
   The figures printed beside it show where that time goes.
3. The hook chain around a tool call (issue 14): a tool call with 10 `before_tool_call` and 10
   `after_tool_call` handlers, tracing on, against the same call with no handler; what the chain adds
   is compared with two plain fires of the same 10 handlers measured in the same run. Goal <= 2x.
   The tool itself answers at once (an in-process runtime), so only the chain's cost is measured.

    python tests/benchmarks/bench_hooks.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import extism  # noqa: E402
import pluggy  # noqa: E402
from extism.extism import CompiledPlugin  # noqa: E402

from aleph_gui.core import tool_calls  # noqa: E402
from aleph_gui.core.hook_result import Continue  # noqa: E402
from aleph_gui.core.hooks import HookExecutor, HookHandler  # noqa: E402
from aleph_gui.core.host_api import HostApi  # noqa: E402
from aleph_gui.core.loader import LoadedPlugin, TrackedRuntime, hook_handlers  # noqa: E402
from aleph_gui.core.manager import ExtensionManager  # noqa: E402
from aleph_gui.core.manifest.detect import load_plugin_folder  # noqa: E402
from aleph_gui.core.manifest.model import Capability, PluginManifest  # noqa: E402
from aleph_gui.core.paths import BUILTIN_PLUGINS, Locations  # noqa: E402
from aleph_gui.core.registry import PluginRegistry  # noqa: E402
from aleph_gui.core.runtime.base import PluginRuntime, RuntimeContext  # noqa: E402
from aleph_gui.core.runtime.offload import offloader  # noqa: E402
from aleph_gui.core.runtime.wasm import WasmRuntime, build_extism_manifest  # noqa: E402
from aleph_gui.core.runtime.wasm_host import host_functions  # noqa: E402
from aleph_gui.core.state import Identity, StateDB  # noqa: E402

BENCH_IDENTITY = Identity("user", "/bench", "wasm", "")  # whose kv rows the plugins measured here own
from aleph_gui.core.tool_calls import ToolBlocked  # noqa: E402

HANDLERS = 10
CONTINUE = Continue()


def make_funcs() -> list:
    """Ten small handlers doing the same trivial work: look at the event, let it pass."""
    def make(i: int):
        def handler(data: dict) -> Continue:
            _ = data.get("tool_name")
            return CONTINUE
        handler.__name__ = f"handler_{i}"
        return handler
    return [make(i) for i in range(HANDLERS)]


def build_pluggy(funcs: list) -> pluggy.PluginManager:
    spec = pluggy.HookspecMarker("bench")
    impl = pluggy.HookimplMarker("bench")

    class Spec:
        @spec
        def before_tool_call(self, data):  # noqa: ANN001, ANN201
            """The event."""

    pm = pluggy.PluginManager("bench")
    pm.add_hookspecs(Spec)
    for i, f in enumerate(funcs):
        # the very same function objects, registered as each plugin's implementation
        plugin = type(f"P{i}", (), {"before_tool_call": staticmethod(impl(f))})
        pm.register(plugin(), name=f"p{i}")
    return pm


def interleaved(rounds: int, *fns) -> list[float]:
    """Run the contenders in turns (a noisy neighbour hits all alike); best round of each."""
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            samples[i].append(fn())
    return [min(s) for s in samples]


def bench_chain(quick: bool) -> str:
    events = 10_000 if quick else 100_000
    rounds = 9 if quick else 15
    funcs = make_funcs()
    data = {"tool_name": "Bash", "tool_input": {"command": "ls"}}

    # floor: a plain loop over the same functions
    def run_floor() -> float:
        t0 = time.perf_counter()
        for _ in range(events):
            for f in funcs:
                f(data)
        return (time.perf_counter() - t0) / events * 1e6

    pm = build_pluggy(funcs)
    hook = pm.hook.before_tool_call

    def run_pluggy() -> float:
        t0 = time.perf_counter()
        for _ in range(events):
            hook(data=data)
        return (time.perf_counter() - t0) / events * 1e6

    # Tracing on: the in-memory ring plus a sink that batches rows the way the manager's audit
    # writer does (the batch is handed off and emptied every few hundred events).
    traced: list = []
    flushed = [0]

    def sink(rows: list) -> None:
        traced.append(rows)
        if len(traced) >= 500:
            flushed[0] += len(traced)
            traced.clear()

    executor = HookExecutor(trace_sink=sink)
    for i, f in enumerate(funcs):
        executor.add(HookHandler(plugin_id=f"p{i:02d}", event="before_tool_call", handler=f.__name__, func=f))

    async def fire_many() -> float:
        fire = executor.fire
        t0 = time.perf_counter()
        for _ in range(events):
            await fire("before_tool_call", data)
        return (time.perf_counter() - t0) / events * 1e6

    loop = asyncio.new_event_loop()

    def run_executor() -> float:
        return loop.run_until_complete(fire_many())

    # sanity: tracing really recorded every handler of every event
    loop.run_until_complete(executor.fire("before_tool_call", data))
    assert len(executor.recent(HANDLERS)) == HANDLERS and len(traced[-1]) == HANDLERS

    gc.disable()
    try:
        floor, plug, ours = interleaved(rounds, run_floor, run_pluggy, run_executor)
    finally:
        gc.enable()
        loop.close()
    ratio = ours / plug
    print(f"floor    (plain loop, {HANDLERS} functions):   {floor:.2f}us per event")
    print(f"pluggy   ({HANDLERS} implementations):         {plug:.2f}us per event")
    print(f"executor ({HANDLERS} handlers, tracing on):    {ours:.2f}us per event "
          f"({ours / floor:.1f}x the floor)")
    return (f"RESULT hook_chain_10_traced value={ours:.2f}us baseline={plug:.2f}us ratio={ratio:.3f} "
            f"goal=<=1.0 {'ok' if ratio <= 1.0 else 'FAIL'}")


# -- the secret guard on a tool call with 4 KB of arguments ------------------------------------------

SECRET_GUARD_GOAL_US = 50.0
LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore "
         "et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut "
         "aliquip ex ea commodo consequat. ")


def tool_call_4kb() -> dict[str, Any]:
    """A file-writing tool's call as the host fires it: ~4 KB of JSON arguments, no secret in them."""
    args: dict[str, Any] = {
        "path": "/home/user/projects/notes/meeting-2024-06-12.md", "mode": "overwrite", "create_dirs": True,
        "encoding": "utf-8", "tags": ["meeting", "planning", "q3"], "metadata": {"author": "sam", "revision": 7},
        "content": ("# Planning meeting\n\n- Attendees: Sam, Ana, Lee\n- Decision: ship the importer on 2024-07-01 "
                    "(see https://example.com/roadmap#importer), retry with back-off: 3 attempts.\n\n"
                    + LOREM * 40)}
    overshoot = len(json.dumps(args)) - 4096
    args["content"] = args["content"][:len(args["content"]) - overshoot]
    return {"plugin": "files", "tool_name": "write_file", "arguments": args}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def bench_secret_guard(quick: bool) -> str:
    rounds = 9 if quick else 15
    per_round = 300 if quick else 2000
    folder = BUILTIN_PLUGINS / "secret-guard"
    manifest = load_plugin_folder(folder).manifest
    assert manifest is not None, f"{folder} is not a valid plugin"
    data = tool_call_4kb()
    assert 4000 <= len(json.dumps(data["arguments"])) <= 4200
    event_bytes = json.dumps({"event": "before_tool_call", "data": data}).encode()
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp:
        state = StateDB(Path(tmp) / "state.db")
        host = HostApi(manifest.id, manifest.scope.allowed_apis, state.kv_store(manifest.id, BENCH_IDENTITY),
                       config=lambda: dict(manifest.config_defaults), log=lambda level, msg: None)
        ctx = RuntimeContext(manifest=manifest, root=folder, scope=manifest.scope, host=host)
        runtime = WasmRuntime(ctx)
        await runtime.start()
        # the tool call: a WASM tool (it echoes its arguments) in a manager, with and without the guard
        tool_home = Path(tmp) / "home"
        plugin = tool_home / "plugins" / "echoer"
        plugin.mkdir(parents=True)
        (plugin / "echo.wat").write_text((ROOT / "tests" / "data" / "wasm" / "trap.wat").read_text())
        (plugin / "aleph.plugin.toml").write_text('[plugin]\nid = "echoer"\nversion = "1.0.0"\nkind = "wasm"\n'
                                                  'entry = "echo.wat"\n[[capabilities]]\ntype = "tool"\n'
                                                  'name = "echo"\n')
        manager = ExtensionManager(Locations(home=tool_home, project=None, builtin=None))
        await manager.start()
        await manager.grant("echoer")  # nothing runs unreviewed; the user approves it once
        handlers = hook_handlers(manifest, runtime)

        def add_guard() -> list[Any]:
            return [manager.hooks.add(h) for h in handlers]

        undos = add_guard()
        arguments = data["arguments"]
        assert await manager.call_tool("echoer", "echo", arguments) == arguments
        leaked = dict(arguments, token="gh" + "p_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6")
        try:
            await manager.call_tool("echoer", "echo", leaked)
            raise AssertionError("the secret guard let a token through")
        except ToolBlocked:
            pass

        # where the time goes, measured beside it: the guard's runtime called on this thread (no
        # worker hop), the JSON encoding of the event, and one hop to a worker thread and back
        hop = offloader()

        def noop() -> None:
            return None

        # and the module's own work: its raw Extism call with these 4 KB vs with empty arguments
        functions = host_functions(manifest.scope.allowed_apis)
        extism_manifest = build_extism_manifest(ctx, runtime.hook_timeout_ms("before_tool_call"))
        module = (folder / (manifest.entry or "plugin.wasm")).read_bytes()
        raw = extism.Plugin(CompiledPlugin({**extism_manifest, "wasm": [{"data": module}]}, wasi=True,
                                           functions=functions), config={"allow_kinds": "[]"}, functions=functions)
        no_args = json.dumps({"event": "before_tool_call", "data": dict(data, arguments={})}).encode()

        keys = ("guarded", "empty", "inline", "dumps", "hop", "raw", "raw_empty")
        samples: dict[str, list[float]] = {k: [] for k in keys}
        added_per_round: list[float] = []
        gc.disable()
        try:
            for round_no in range(rounds + 1):  # round 0 warms up and is dropped
                got: dict[str, list[float]] = {k: [] for k in keys}
                for _ in range(per_round):
                    t0 = time.perf_counter_ns()
                    await manager.call_tool("echoer", "echo", arguments)
                    t1 = time.perf_counter_ns()
                    for undo in undos:
                        undo()
                    t2 = time.perf_counter_ns()
                    await manager.call_tool("echoer", "echo", arguments)
                    t3 = time.perf_counter_ns()
                    undos = add_guard()
                    got["guarded"].append((t1 - t0) / 1000)
                    got["empty"].append((t3 - t2) / 1000)
                for _ in range(per_round // 4):
                    t0 = time.perf_counter_ns()
                    runtime.run_hook_blocking("before_tool_call", {"event": "before_tool_call", "data": data})
                    t1 = time.perf_counter_ns()
                    json.dumps({"event": "before_tool_call", "data": data}).encode()
                    t2 = time.perf_counter_ns()
                    await hop.run(noop)
                    t3 = time.perf_counter_ns()
                    raw.call("before_tool_call", event_bytes)
                    t4 = time.perf_counter_ns()
                    raw.call("before_tool_call", no_args)
                    t5 = time.perf_counter_ns()
                    got["inline"].append((t1 - t0) / 1000)
                    got["dumps"].append((t2 - t1) / 1000)
                    got["hop"].append((t3 - t2) / 1000)
                    got["raw"].append((t4 - t3) / 1000)
                    got["raw_empty"].append((t5 - t4) / 1000)
                if round_no:
                    for key, values in got.items():
                        samples[key].extend(values)
                    added_per_round.append(statistics.median(got["guarded"]) - statistics.median(got["empty"]))
                gc.collect()
        finally:
            gc.enable()
            await manager.stop()
            await runtime.stop()
            state.close()
    p50 = {k: statistics.median(v) for k, v in samples.items()}
    # The best round's p50, as the chain benchmark above takes the best round: the machines here
    # are shared, and a neighbour's burst slows every contender of that round alike.
    added = min(added_per_round)
    print(f"WASM tool call, 4 KB arguments, no guard:        p50={p50['empty']:7.2f}us "
          f"p99={pct(samples['empty'], 0.99):7.2f}us  n={len(samples['empty'])}")
    print(f"WASM tool call, 4 KB arguments, secret-guard:    p50={p50['guarded']:7.2f}us "
          f"p99={pct(samples['guarded'], 0.99):7.2f}us  n={len(samples['guarded'])}")
    print(f"    added by the guard: best round p50={added:.2f}us, all rounds p50="
          f"{p50['guarded'] - p50['empty']:.2f}us (rounds: {' '.join(f'{x:.0f}' for x in added_per_round)})")
    print(f"    where it goes: the guard's runtime on the loop thread p50={p50['inline']:.2f}us (JSON encoding "
          f"of the event p50={p50['dumps']:.2f}us); a worker-thread hop (shared with the tool call, so not "
          f"added) p50={p50['hop']:.2f}us")
    print(f"    the module's own work: raw Extism call p50={p50['raw']:.2f}us with the 4 KB, "
          f"{p50['raw_empty']:.2f}us with empty arguments")
    ratio = added / p50["empty"] if p50["empty"] else float("inf")
    ok = added <= SECRET_GUARD_GOAL_US
    return (f"RESULT secret_guard_4kb_p50 value={added:.2f}us baseline={p50['empty']:.2f}us ratio={ratio:.3f} "
            f"goal=<={SECRET_GUARD_GOAL_US:g} {'ok' if ok else 'FAIL'}")


# -- the chain around a tool call -------------------------------------------------------------------

class _InstantRuntime(PluginRuntime):
    """A tool that answers at once: what remains is the call path and the chain around it."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        return arguments

    async def run_hook(self, handler: str, event: dict[str, Any], timeout_ms: int | None = None) -> Any:
        return CONTINUE


def bench_tool_chain(quick: bool) -> str:
    calls = 5_000 if quick else 40_000
    rounds = 9 if quick else 15
    funcs = make_funcs()
    manifest = PluginManifest(id="bench", name="bench", kind="wasm", format="aleph-toml", manifest_file="x",
                              capabilities=[Capability(type="tool", name="echo")])
    version = LoadedPlugin(manifest, Path("."), "user")
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        state = StateDB(Path(tmp) / "state.db")
        host = HostApi("bench", ["log"], state.kv_store("bench", BENCH_IDENTITY), config=dict, log=lambda level, msg: None)
        version.runtime = TrackedRuntime(_InstantRuntime(RuntimeContext(manifest=manifest, root=Path("."),
                                                                        scope=manifest.scope, host=host)))
        sunk: list = []

        def executor(with_handlers: bool) -> HookExecutor:
            ex = HookExecutor(trace_sink=lambda rows: sunk.append(rows) if len(sunk) < 1000 else sunk.clear())
            for event in ("before_tool_call", "after_tool_call") if with_handlers else ():
                for i, f in enumerate(funcs):
                    ex.add(HookHandler(plugin_id=f"p{i:02d}", event=event, handler=f.__name__, func=f))
            return ex

        chained, bare, plain = executor(True), executor(False), executor(True)
        registry = PluginRegistry()
        args = {"path": "notes.md", "text": "hello"}
        data = {"plugin": "bench", "tool_name": "echo", "arguments": args}
        loop = asyncio.new_event_loop()

        def timed(body: Any) -> float:
            async def run() -> float:
                t0 = time.perf_counter()
                for _ in range(calls):
                    await body()
                return (time.perf_counter() - t0) / calls * 1e6
            return loop.run_until_complete(run())

        def call_with(ex: HookExecutor) -> Any:
            return lambda: tool_calls.call_tool(version, registry, ex, ex.fire, "echo", args, "bench")

        plain_fire = plain.fire
        assert loop.run_until_complete(call_with(chained)()) == args
        gc.disable()
        try:
            with_chain, without, two_fires = interleaved(
                rounds, lambda: timed(call_with(chained)), lambda: timed(call_with(bare)),
                lambda: timed(lambda: _two(plain_fire, data)))
        finally:
            gc.enable()
            loop.close()
            state.close()
    added = with_chain - without
    ratio = added / two_fires
    print(f"tool call, no handlers:          {without:.2f}us")
    print(f"tool call, 10+10 handlers:       {with_chain:.2f}us (the chain adds {added:.2f}us)")
    print(f"two plain fires of 10 handlers:  {two_fires:.2f}us")
    return (f"RESULT tool_call_chain_10_10 value={added:.2f}us baseline={two_fires:.2f}us ratio={ratio:.3f} "
            f"goal=<=2.0 {'ok' if ratio <= 2.0 else 'FAIL'}")


async def _two(fire: Any, data: dict[str, Any]) -> None:
    await fire("before_tool_call", data)
    await fire("after_tool_call", data)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = [bench_chain(args.quick), bench_tool_chain(args.quick), asyncio.run(bench_secret_guard(args.quick))]
    for result in results:
        print(result)
    return 1 if any(r.endswith("FAIL") for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
