"""A short run of the chaos soak (`make soak` runs it for 10 minutes): the manager keeps answering while
Node plugins are killed, manifests turn to garbage and a plugin floods its stdout, and leaves nothing behind."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.timeout(180)
def test_short_chaos_soak_keeps_every_invariant() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "soak" / "soak.py"), "--seconds", "15", "--seed", "7"],
                          capture_output=True, text=True, cwd=ROOT, timeout=170)
    line = proc.stdout.strip().splitlines()[-1]
    figures = dict(re.findall(r"(\w+)=([\d.]+)", line))
    assert line.startswith("SOAK "), proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stderr  # every VIOLATION line says which invariant broke
    assert int(figures["ops"]) > 50 and int(figures["events"]) > 10
    assert int(figures["leaked_processes"]) == 0
    assert "killed node" in proc.stderr  # the chaos really happened
