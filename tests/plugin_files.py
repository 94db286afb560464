"""Writing plugin folders in tests (shared by conftest's `make_plugin` and tests that need a folder elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

PluginFiles = dict[str, "str | bytes | dict"]


def write_plugin(root: Path, folder_name: str, files: PluginFiles) -> Path:
    """Write `files` ({relative path: text | bytes | JSON-able dict}) into `root/folder_name`."""
    folder = root / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, dict | list):
            path.write_text(json.dumps(content, indent=2), encoding="utf-8")
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def approve(home: Path, folder: Path, origin: str = "user") -> None:
    """Approve what the plugin in `folder` asks for, as `aleph-ext grant` would: for tests about something
    else than the review (every WASM and Node.js plugin waits for one)."""
    from aleph_gui.core.code_digest import CodeDigests
    from aleph_gui.core.discovery import load_one
    from aleph_gui.core.state import StateDB

    found = load_one(folder, origin)
    assert found.manifest is not None, found.problems
    state = StateDB(home / "state.db")
    try:
        state.set_grant(found.id, found.manifest.scope, identity=found.identity,
                        code_digest=CodeDigests().of(folder.resolve()))
    finally:
        state.close()
