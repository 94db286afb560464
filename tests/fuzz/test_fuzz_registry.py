"""A rejected plugin never changes the registry: neither a new hostile plugin folder nor a hostile edit of a
running plugin's manifest adds, removes or replaces a registration (the running version keeps its own)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from fuzzkit import aleph_documents, counted, fuzz_settings, json_values
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.discovery import load_one
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.paths import Locations

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from manager_helpers import static_toml  # noqa: E402

KEEPER = static_toml("keeper", tools=("notes", "search"))


def _snapshot(m: ExtensionManager) -> list[tuple[str, str, str, str]]:
    return sorted((r.kind, r.name, r.plugin_id, r.capability.model_dump_json()) for r in m.registry.entries())


def _hostile_files(doc: Any, raw: bytes | None) -> dict[str, bytes]:
    if raw is not None:
        return {"aleph.plugin.toml": raw}
    return {"aleph.plugin.json": json.dumps(doc).encode()}


def test_rejected_plugins_leave_the_registry_unchanged(tmp_path: Path, fuzz_cases: int) -> None:
    home = tmp_path / "home"
    keeper = home / "plugins" / "keeper"
    keeper.mkdir(parents=True)
    (keeper / "aleph.plugin.toml").write_text(KEEPER)
    loop = asyncio.new_event_loop()
    m = ExtensionManager(Locations(home=home, project=None, builtin=None))
    loop.run_until_complete(m.start())
    baseline = _snapshot(m)
    assert baseline and m.plugin("keeper").state == "enabled"
    intruder = home / "plugins" / "intruder"

    async def one_case(files: dict[str, bytes], edit_keeper: bool) -> None:
        intruder.mkdir()
        for name, content in files.items():
            (intruder / name).write_bytes(content)
        found = load_one(intruder, "user")
        await m.discover()
        if not found.valid:
            assert _snapshot(m) == baseline, found.problems
            assert m.plugin(found.id).state == "invalid" if found.id != "keeper" else True
        shutil.rmtree(intruder)
        await m.discover()
        assert _snapshot(m) == baseline
        if edit_keeper:  # a hostile edit of the running plugin: it keeps running as it was
            manifest = keeper / "aleph.plugin.toml"
            manifest.write_bytes(next(iter(files.values())))
            if not load_one(keeper, "user").valid:
                await m.reload("keeper")
                assert _snapshot(m) == baseline
                assert m.is_loaded("keeper")
            manifest.write_text(KEEPER)
            await m.reload("keeper")
            assert _snapshot(m) == baseline

    @fuzz_settings(fuzz_cases)
    @given(doc=st.one_of(aleph_documents(), json_values), raw=st.one_of(st.none(), st.binary(max_size=200)),
           edit_keeper=st.booleans())
    @counted("registry-unchanged")
    def check(doc: Any, raw: bytes | None, edit_keeper: bool) -> None:
        loop.run_until_complete(one_case(_hostile_files(doc, raw), edit_keeper))

    try:
        check()
    finally:
        loop.run_until_complete(m.stop())
        loop.close()
