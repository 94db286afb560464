"""Run every `bench_*.py` beside this file and print their RESULT lines as one table.

    python tests/benchmarks/run_all.py [--quick]

Each benchmark runs in its own process. A FAIL line is reported (a goal was missed), not fatal;
a script that crashes (non-zero exit without a FAIL line) or prints no RESULT line makes this
exit non-zero.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT = re.compile(r"^RESULT (\S+) value=(\S+) baseline=(\S+) ratio=(\S+) goal=(\S+) (ok|FAIL)\s*$")


def run(script: Path, quick: bool) -> tuple[list[tuple[str, ...]], str | None, float, str]:
    cmd = [sys.executable, str(script), *(["--quick"] if quick else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parents[1], check=False)
    took = time.perf_counter() - start
    rows = [m.groups() for m in map(RESULT.match, proc.stdout.splitlines()) if m]
    if proc.returncode != 0 and not any(r[5] == "FAIL" for r in rows):
        # Exiting non-zero after reporting a missed goal is not a crash; anything else is.
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return rows, f"exited {proc.returncode}: {' | '.join(tail)}", took, proc.stdout
    if not rows:
        return rows, "printed no RESULT line", took, proc.stdout
    return rows, None, took, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    table: list[tuple[str, ...]] = []
    crashed: list[str] = []
    for script in scripts:
        print(f"== {script.name}", file=sys.stderr, flush=True)
        rows, problem, took, output = run(script, args.quick)
        print(output.rstrip(), flush=True)  # the script's own figures and RESULT lines, verbatim
        table.extend((script.stem, *row) for row in rows)
        if problem:
            crashed.append(f"{script.name}: {problem}")
        print(f"   ({script.name} took {took:.1f} s)", file=sys.stderr)
    header = ("script", "metric", "value", "baseline", "ratio", "goal", "")
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for row in [header, *table]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    fails = sum(1 for r in table if r[-1] == "FAIL")
    print(f"\n{len(table)} result(s) from {len(scripts)} benchmark(s); {fails} goal(s) missed")
    for line in crashed:
        print(f"CRASHED {line}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
