"""Discovery benchmark: `aleph-ext list --json` over many generated plugin folders.

Plugins are a mix of the four Aleph spellings; the real-table TOML ones are shaped like Aleph's
bundled plugins. Baseline, measured in the same run: a separate `python3` process that only finds the same manifest
files, reads them and parses them with tomllib/json. Goals (issue 2):
  * at the larger size, the whole command costs at most 2.5x the baseline;
  * the marginal cost per extra plugin (slope between the two sizes) is at most 1.5x the baseline's.

Usage: python tests/benchmarks/bench_discovery.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

BASELINE = r"""
import json, os, sys, tomllib
root = sys.argv[1]
docs = []
for name in sorted(os.listdir(root)):
    folder = os.path.join(root, name)
    for manifest in ("aleph.plugin.toml", "plugin.toml", "aleph.plugin.json", "plugin.json", "package.json"):
        path = os.path.join(folder, manifest)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                data = fh.read()
            docs.append(tomllib.loads(data.decode()) if manifest.endswith(".toml") else json.loads(data))
            break
print(len(docs))
"""

TOOL_PARAMS = {
    "type": "object", "required": ["text"],
    "properties": {"text": {"type": "string", "description": "Input text"},
                   "limit": {"type": "number", "default": 10}},
}


def _toml_design(i: int) -> str:
    return f"""[plugin]
id = "bench-toml-{i}"
name = "Bench TOML {i}"
version = "1.{i % 7}.0"
description = "Generated plugin number {i}"
kind = "wasm"
entry = "plugin.wat"

[[capabilities]]
type = "tool"
name = "upper_{i}"
description = "Uppercase text"
handler = "upper"
parameters = {{ type = "object", properties = {{ text = {{ type = "string" }} }}, required = ["text"] }}

[[capabilities]]
type = "hook"
event = "message_received"
priority = {i % 5}
handler = "on_message"

[scope]
allowed_apis = ["log", "kv"]
"""


def _toml_real(i: int) -> str:
    """Shaped like Aleph's bundled plugins (plugins/diagnostics: 4 tools with schemas, 2 hooks, a service)."""
    tools = "".join(f"""
[[tools]]
name = "tool_{i}_{t}"
description = "Generated tool {t} of plugin {i}"
handler = "handler{t}"

[tools.parameters]
type = "object"
required = ["query"]

[tools.parameters.properties.query]
type = "string"
description = "What to look up"

[tools.parameters.properties.last_n]
type = "number"
description = "How many recent entries to return"
default = 20

[tools.parameters.properties.format]
type = "string"
description = "Output format: summary, detailed, or json"
default = "summary"
""" for t in range(4))
    return f"""[plugin]
id = "bench-real-{i}"
name = "Bench Real {i}"
version = "0.{i % 9}.1"
description = "Generated plugin in Aleph's real table spelling"
kind = "nodejs"
entry = "src/index.js"

[permissions]
shell = false
filesystem = "read"
network = false
{tools}
[[hooks]]
event = "SessionStart"
kind = "observer"
handler = "onSessionStart"
priority = "low"

[[hooks]]
event = "PreToolUse"
kind = "interceptor"
handler = "onPreToolUse"
priority = "normal"
filter = "tool_{i}_0"

[[services]]
name = "worker-{i}"
start_handler = "startWorker"
stop_handler = "stopWorker"
"""


def _json_manifest(i: int) -> dict:
    return {"plugin": {"id": f"bench-json-{i}", "name": f"Bench JSON {i}", "version": "2.0.0", "kind": "static"},
            "capabilities": [{"type": "command", "name": f"cmd-{i}", "description": "A command"},
                             {"type": "tool", "name": f"tool_{i}", "parameters": TOOL_PARAMS}],
            "scope": {"allowed_apis": ["log"]}}


def _package_json(i: int) -> dict:
    return {"name": f"@bench/pkg-{i}", "version": "1.0.0", "description": "npm-shaped plugin", "main": "index.js",
            "aleph": {"kind": "nodejs", "capabilities": [{"type": "tool", "name": f"pkg_tool_{i}"}],
                      "scope": {"network_access": {"mode": "allow", "hosts": ["api.example.com"]}}}}


def generate(root: Path, count: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        folder = root / f"plugin-{i:05d}"
        folder.mkdir()
        style = i % 4
        if style == 0:
            (folder / "aleph.plugin.toml").write_text(_toml_design(i))
            (folder / "plugin.wat").write_text("(module)\n")
        elif style == 1:
            (folder / "aleph.plugin.toml").write_text(_toml_real(i))
            (folder / "src").mkdir()
            (folder / "src" / "index.js").write_text("// generated\n")
        elif style == 2:
            (folder / "plugin.json").write_text(json.dumps(_json_manifest(i), indent=2))
        else:
            (folder / "package.json").write_text(json.dumps(_package_json(i), indent=2))
            (folder / "index.js").write_text("// generated\n")


def _once(cmd: list[str], env: dict[str, str], expect: int | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    if expect is not None:
        listed = json.loads(proc.stdout)
        bad = [p for p in listed if p["state"] == "invalid"]
        if len(listed) != expect or bad:
            raise SystemExit(f"expected {expect} valid plugins, got {len(listed)} ({len(bad)} invalid): "
                             f"{bad[:1]}")
    return took


def measure(size: int, repeats: int, work: Path) -> tuple[float, float]:
    """Best of `repeats` for each command, run alternately so machine load hits both alike."""
    home = work / f"home-{size}"
    generate(home / "plugins", size)
    # Bytecode is compiled once (the warm-up run) and kept outside the repository, as pip compiles an
    # installed app's; the baseline's stdlib is compiled too.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    ours = [PYTHON, "-m", "aleph_gui.cli", "--home", str(home), "--project", str(work / "project"),
            "--no-builtin", "list", "--json"]
    base = [PYTHON, "-c", BASELINE, str(home / "plugins")]
    _once(ours, env, expect=size)  # warm the OS cache and the state database; check the listing is right
    _once(base, env)
    ours_times, base_times = [], []
    for _ in range(repeats):
        ours_times.append(_once(ours, env))
        base_times.append(_once(base, env))
    return min(ours_times), min(base_times)


def result(metric: str, value: float, baseline: float, unit: str, goal: float) -> str:
    ratio = value / baseline if baseline > 0 else float("inf")
    ok = "ok" if ratio <= goal else "FAIL"
    return (f"RESULT {metric} value={value:.3f}{unit} baseline={baseline:.3f}{unit} ratio={ratio:.2f} "
            f"goal=<={goal} {ok}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, finishes in well under 30 s")
    args = parser.parse_args()
    small, large, repeats = (100, 1000, 4) if args.quick else (200, 2000, 5)
    work = Path(tempfile.mkdtemp(prefix="bench-discovery-"))
    os.chdir(ROOT)
    try:
        ours_small, base_small = measure(small, repeats, work)
        ours_large, base_large = measure(large, repeats, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"# sizes {small} and {large}; best of {repeats} alternating runs; seconds")
    print(f"# aleph-ext list --json: {ours_small:.3f} / {ours_large:.3f}; baseline: {base_small:.3f} / {base_large:.3f}")
    slope_ours = (ours_large - ours_small) / (large - small) * 1e6
    slope_base = (base_large - base_small) / (large - small) * 1e6
    print(result(f"list_json_{large}_plugins", ours_large * 1000, base_large * 1000, "ms", 2.5))
    print(result("list_json_per_extra_plugin", slope_ours, slope_base, "us", 1.5))
    return 0


if __name__ == "__main__":
    sys.exit(main())
