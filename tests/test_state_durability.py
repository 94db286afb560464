"""kill -9 in the middle of a burst of state changes leaves a consistent database that holds every
acknowledged change (the one in flight may or may not have landed, never half of it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from aleph_gui.core.scope import FileAccess, Scope
from aleph_gui.core.state import Identity, StateDB

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aleph_gui.core.scope import FileAccess, Scope
    from aleph_gui.core.state import Identity, StateDB
    db = StateDB(Path(sys.argv[1]))
    for i in range(1000):
        pid = f"p{i % 7}"
        if i % 3 == 0:
            db.set_enabled(pid, i % 2 == 0)
        elif i % 3 == 1:
            db.set_grant(pid, Scope(allowed_apis=["log", "kv"], file_access=FileAccess(mode="read", paths=[f"/d{i}"])),
                         identity=Identity("user", f"/p/{pid}", "wasm", "p.wasm"), code_digest=str(i))
        else:
            db.set_config(pid, "n", i)
        print(i, flush=True)
""")


def expected_after(last: int) -> dict[str, dict[str, object]]:
    """Replay operations 0..last into a plain model."""
    model: dict[str, dict[str, object]] = {}
    for i in range(last + 1):
        entry = model.setdefault(f"p{i % 7}", {})
        if i % 3 == 0:
            entry["enabled"] = i % 2 == 0
        elif i % 3 == 1:
            entry["grant_path"] = f"/d{i}"
        else:
            entry["n"] = i
    return model


def actual(db: StateDB) -> dict[str, dict[str, object]]:
    model: dict[str, dict[str, object]] = {}
    for n in range(7):
        pid = f"p{n}"
        entry: dict[str, object] = {}
        if (flag := db.enabled(pid)) is not None:
            entry["enabled"] = flag
        if (grant := db.grant(pid)) is not None:
            entry["grant_path"] = grant.scope.file_access.paths[0]
        if "n" in (cfg := db.config(pid)):
            entry["n"] = cfg["n"]
        if entry:
            model[pid] = entry
    return model


@pytest.mark.parametrize("kill_after", [1, 137, 520, 901])
def test_kill_9_during_state_burst_keeps_acknowledged_changes(tmp_path: Path, kill_after: int) -> None:
    db_path = tmp_path / "state.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None
    last = -1
    for line in proc.stdout:
        last = int(line)
        if last >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    db = StateDB(db_path)
    try:
        assert db.integrity_ok()
        got = actual(db)
        # The writer may have run ahead of what we read from its pipe, so the database must equal the
        # state after some operation k >= the last one we saw acknowledged: every acknowledged change
        # is there, and nothing is half-applied.
        assert any(got == expected_after(k) for k in range(last, 1000))
    finally:
        db.close()


def test_grant_round_trip_keeps_the_exact_scope(tmp_path: Path) -> None:
    db = StateDB(tmp_path / "s.db")
    scope = Scope(allowed_apis=["log", "kv"], file_access=FileAccess(mode="read_write", paths=["~/notes"]))
    db.set_grant("x", scope, identity=Identity("user", "/p/x", "wasm", "x.wasm"), code_digest="abc")
    db.close()
    db = StateDB(tmp_path / "s.db")
    grant = db.grant("x")
    assert grant is not None and grant.scope == scope and grant.digest == scope.digest()
    db.close()
