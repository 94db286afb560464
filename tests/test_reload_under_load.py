"""Reload under load: events keep flowing while a WASM plugin is hot-swapped 20 times; every event
gets exactly one decision, from either the old or the new version, and none is lost."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from manager_helpers import manager_for

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
