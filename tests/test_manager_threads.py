"""Everything the manager owns changes on its loop thread, and subscribers are called there — also
when a WASM plugin reports from a worker thread (its log lines, its failure)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from manager_helpers import Recorder, manager_for

from aleph_gui.core.errors import PluginCallError

WASM = Path(__file__).parent / "data" / "wasm"


def wasm_plugin(home: Path, plugin_id: str, module: str, tools: list[str], apis: list[str]) -> None:
    folder = home / "plugins" / plugin_id
    folder.mkdir(parents=True)
    shutil.copy(WASM / module, folder / module)
    caps = "".join(f'\n[[capabilities]]\ntype = "tool"\nname = "{t}"\n' for t in tools)
    (folder / "aleph.plugin.toml").write_text(
        f'[plugin]\nid = "{plugin_id}"\nversion = "1.0.0"\nkind = "wasm"\nentry = "{module}"\n{caps}'
        f'\n[scope]\nallowed_apis = {apis!r}\n'.replace("'", '"'))


async def test_worker_thread_reports_reach_subscribers_on_the_loop_thread(home: Path) -> None:
    wasm_plugin(home, "keeper", "kv.wat", ["set_huge"], ["log", "kv"])
    wasm_plugin(home, "crasher", "trap.wat", ["boom"], ["log"])
    loop_thread = threading.get_ident()
    seen: list[tuple[str, str, int]] = []
    rec = Recorder()
    async with manager_for(home) as m:
        m.subscribe(lambda e: seen.append((e.type, e.id, threading.get_ident())))
        m.subscribe(rec)
        await m.grant("keeper")
        await m.grant("crasher")
        await m.call_tool("keeper", "set_huge", {})  # the host refuses the value and logs it (worker thread)
        await rec.wait_for(lambda: any(e.type == "PluginLog" and e.id == "keeper" for e in rec.events))
        assert any("host function aleph_kv_set failed" in line.message for line in m.logs("keeper"))
        for _ in range(5):  # five traps in a row: the runtime reports `failed` from its worker thread
            with pytest.raises(PluginCallError):
                await m.call_tool("crasher", "boom", {})
        await rec.wait_for(lambda: m.plugin("crasher").state == "failed")
    assert ("StateChanged", "crasher", loop_thread) in seen
    assert {thread for _, _, thread in seen} == {loop_thread}
