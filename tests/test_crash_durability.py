"""kill -9 of the whole app in the middle of a burst of user changes made through the ExtensionManager
(enable, disable, grant, revoke, config): after a restart, grants, enabled flags and config are exactly as
of the last acknowledged change (or the one in flight when the app died), never anything in between.

`test_state_durability.py` covers the same at the StateDB level; this drives the real manager in a
subprocess, the way the GUI and `aleph-ext` use it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from manager_helpers import manager_for, static_toml, write_plugin

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = [f"p{n}" for n in range(5)]
OPS = 400

# The app: a manager doing one change per step, printing "ack <i>" once the change was acknowledged.
DRIVER = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.paths import Locations
    from aleph_gui.core.scope import FileAccess, Scope

    PLUGINS = [f"p{n}" for n in range(5)]

    async def main(home: Path, ops: int) -> None:
        m = ExtensionManager(Locations(home=home, project=None, builtin=None))
        await m.start()
        print("ready", flush=True)
        for i in range(ops):
            pid = PLUGINS[i % len(PLUGINS)]
            step = (i // len(PLUGINS)) % 5
            if step == 0:
                await m.enable(pid)
            elif step == 1:
                await m.grant(pid, Scope(allowed_apis=["log", "kv"],
                                         file_access=FileAccess(mode="read", paths=[f"/data/{i}"])))
            elif step == 2:
                m.state.set_config(pid, "n", i)
            elif step == 3:
                await m.disable(pid)
            else:
                await m.revoke(pid) if i % 2 else await m.enable(pid)
            print(f"ack {i}", flush=True)
        await m.stop()

    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2])))
""")


def model_after(last: int) -> dict[str, dict[str, Any]]:
    """What the user changed, replayed up to and including step `last` (-1 = nothing yet)."""
    model: dict[str, dict[str, Any]] = {p: {"enabled": True, "grant": None, "n": None} for p in PLUGINS}
    for i in range(last + 1):
        entry = model[PLUGINS[i % len(PLUGINS)]]
        step = (i // len(PLUGINS)) % 5
        if step == 0:
            entry["enabled"] = True
        elif step == 1:
            entry["grant"] = f"/data/{i}"
        elif step == 2:
            entry["n"] = i
        elif step == 3:
            entry["enabled"] = False
        elif i % 2:
            entry["grant"] = None
        else:
            entry["enabled"] = True
    return model


def expected_state(entry: dict[str, Any]) -> str:
    if not entry["enabled"]:
        return "disabled"
    return "enabled" if entry["grant"] else "needs_review"  # the plugins ask for kv: approval needed


async def observed(home: Path) -> dict[str, dict[str, Any]]:
    """What the restarted app shows the user, plugin by plugin."""
    m = manager_for(home)
    await m.start()
    try:
        assert m.state.integrity_ok()
        out: dict[str, dict[str, Any]] = {}
        for pid in PLUGINS:
            info = m.plugin(pid)
            grant = info.grant
            out[pid] = {"state": info.state, "grant": grant.scope.file_access.paths[0] if grant else None,
                        "n": m.state.config(pid).get("n")}
        return out
    finally:
        await m.stop()


def shown(model: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p: {"state": expected_state(e), "grant": e["grant"], "n": e["n"]} for p, e in model.items()}


@pytest.mark.parametrize("kill_after", [0, 7, 61, 163, 342])
async def test_kill_9_of_the_app_during_a_burst_keeps_the_last_acknowledged_change(
        tmp_path: Path, kill_after: int) -> None:
    home = tmp_path / "home"
    for pid in PLUGINS:
        write_plugin(home / "plugins", pid, {"aleph.plugin.toml": static_toml(pid, apis=("log", "kv"))})
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(home), str(OPS)], stdout=subprocess.PIPE,
                            text=True, cwd=ROOT)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    last = -1
    for line in proc.stdout:
        last = int(line.split()[1])
        if last >= kill_after:
            os.kill(proc.pid, signal.SIGKILL)
            break
    # Acknowledgements already written before the kill count too: read them all.
    last = max([last, *(int(line.split()[1]) for line in proc.stdout if line.startswith("ack"))])
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the app finished before it could be killed"

    after_restart = await observed(home)
    # Exactly the last acknowledged change, or also the one in flight when the app died.
    assert after_restart in (shown(model_after(last)), shown(model_after(last + 1))), (last, after_restart)
