"""Reload under load: events keep flowing while a WASM plugin is hot-swapped 20 times; every event
gets exactly one decision, from either the old or the new version, and none is lost."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import psutil
from manager_helpers import manager_for
from plugin_files import approve

WAT = Path(__file__).parent / "data" / "wasm" / "config_answer.wat"


def manifest(version: int) -> str:
    answer = json.dumps({"action": "intercept", "data": {"v": version}})
    return f"""
[plugin]
id = "swapper"
name = "Swapper"
version = "1.0.{version}"
kind = "wasm"
entry = "answer.wat"

[[capabilities]]
type = "hook"
event = "message_received"
handler = "answer"

[config]
answer = {json.dumps(answer)}
"""


async def test_every_event_gets_exactly_one_decision_during_20_reloads(tmp_path: Path) -> None:
    home = tmp_path / "home"
    folder = home / "plugins" / "swapper"
    folder.mkdir(parents=True)
    shutil.copy(WAT, folder / "answer.wat")
    (folder / "plugin.toml").write_text(manifest(0))
    approve(home, folder)
    async with manager_for(home) as m:
        assert m.plugin("swapper").state == "enabled"
        stop = asyncio.Event()
        seen: list[int] = []
        bad: list[str] = []

        async def fire_forever() -> None:
            while not stop.is_set():
                result = await m.fire("message_received", {"text": "hello"})
                mine = [t for t in result.trace if t.plugin == "swapper"]
                if len(mine) != 1 or result.decision != "intercept":
                    bad.append(f"{result.decision} with {len(mine)} decisions: {result.to_json()}")
                else:
                    seen.append(result.data["v"])
                await asyncio.sleep(0)

        firing = asyncio.create_task(fire_forever())
        for version in range(1, 21):
            (folder / "plugin.toml").write_text(manifest(version))
            info = await m.reload("swapper")
            assert info.version == f"1.0.{version}" and info.state == "enabled"
            await asyncio.sleep(0.01)
        stop.set()
        await firing
        assert bad == []
        assert len(seen) > 20
        assert set(seen) <= set(range(21))
        assert seen == sorted(seen)  # never an old answer after a newer one
        final = await m.fire("message_received", {"text": "x"})
        assert final.data == {"v": 20}


def node_package(version: int) -> str:
    return json.dumps({"name": "starter", "version": f"1.0.{version}", "main": "index.js",
                       "aleph": {"kind": "nodejs", "activation": "startup",
                                 "capabilities": [{"type": "tool", "name": "version"}]}})


NODE_CODE = "exports.register = (api) => api.registerTool({name: 'version', execute: () => 'v' + require('./package.json').version});\n"


def node_processes() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True)
            if p.name() == "node" and p.status() != psutil.STATUS_ZOMBIE]


async def test_reloads_that_overlap_leave_exactly_one_process_running(tmp_path: Path) -> None:
    # The soak found sandboxes left running: a reload that waited for another one swapped out a version
    # that was already retired, and the version in between was never stopped.
    home = tmp_path / "home"
    folder = home / "plugins" / "starter"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(node_package(0))
    (folder / "index.js").write_text(NODE_CODE)
    async with manager_for(home) as m:
        await m.grant("starter")
        for version in range(1, 4):
            (folder / "package.json").write_text(node_package(version))
            infos = await asyncio.gather(m.reload("starter"), m.reload("starter"), m.reload("starter"))
            assert {i.version for i in infos} == {f"1.0.{version}"}
        assert await m.call_tool("starter", "version", {}) == "v1.0.3"
        deadline = asyncio.get_running_loop().time() + 10
        while len(node_processes()) != 1:  # the replaced versions stop once their calls are done
            assert asyncio.get_running_loop().time() < deadline, f"still running: {node_processes()}"
            await asyncio.sleep(0.05)
    assert node_processes() == []
