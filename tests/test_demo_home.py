"""`python -m aleph_gui.demo_home DIR`: a populated manager at first launch, user edits kept later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from manager_helpers import headless_plugins
from plugin_files import write_plugin

from aleph_gui.core.paths import Locations
from aleph_gui.demo_home import populate


def demo_source(tmp_path: Path) -> Path:
    source = tmp_path / "demos"
    write_plugin(source, "wasm-wat-text-tools", {
        "aleph.plugin.toml": '[plugin]\nid = "wasm-wat-text-tools"\nversion = "1.0.0"\nentry = "plugin.wat"\n'
                             '[scope]\nallowed_apis = ["log", "kv"]\n',
        "plugin.wat": "(module)"})
    write_plugin(source, "asks-first", {
        "plugin.toml": '[plugin]\nid = "asks-first"\nversion = "1.0.0"\n[permissions]\nnetwork = true\n'})
    write_plugin(source, "built", {
        "aleph.plugin.json": {"plugin": {"id": "built", "version": "1.0.0", "entry": "out.wasm"}},
        "out.wasm": b"\0asm\x01\0\0\0", "node_modules/huge/index.js": "//", "__pycache__/x.pyc": b"\0"})
    return source


def states(home: Path) -> dict[str, str]:
    infos = headless_plugins(Locations(home=home, project=None, builtin=None))
    return {i.id: i.state for i in infos}


def test_first_run_copies_and_pre_grants_a_few(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    copied = populate(home, demo_source(tmp_path))
    assert copied == ["asks-first", "built", "wasm-wat-text-tools"]
    # only the pre-granted few run at once; the others show how a review looks
    assert states(home) == {"asks-first": "needs_review", "built": "needs_review", "wasm-wat-text-tools": "enabled"}
    assert (home / "plugins/built/out.wasm").read_bytes().startswith(b"\0asm")  # build output kept
    assert not (home / "plugins/built/node_modules").exists()
    assert not (home / "plugins/built/__pycache__").exists()


def test_later_runs_keep_edits_and_add_new_demos(tmp_path: Path) -> None:
    home = tmp_path / "demo-home"
    source = demo_source(tmp_path)
    populate(home, source)
    edited = home / "plugins/asks-first/plugin.toml"
    edited.write_text('[plugin]\nid = "asks-first"\nversion = "9.9.9"\n')
    write_plugin(source, "newcomer", {"plugin.toml": '[plugin]\nid = "newcomer"\nversion = "1.0.0"\n'})
    assert populate(home, source) == ["newcomer"]
    assert "9.9.9" in edited.read_text()


def test_command_line(tmp_path: Path) -> None:
    home = tmp_path / "h"
    cmd = [sys.executable, "-m", "aleph_gui.demo_home", str(home), "--source", str(demo_source(tmp_path))]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0 and "copied 3 demo plugin(s)" in first.stderr
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0 and "up to date" in second.stderr
    missing = subprocess.run([sys.executable, "-m", "aleph_gui.demo_home", str(home), "--source",
                              str(tmp_path / "nope")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "demo plugins not found" in missing.stderr


def test_the_real_demos_all_read_cleanly(tmp_path: Path) -> None:
    """Every shipped demo parses; none is invalid in a fresh demo home."""
    home = tmp_path / "demo-home"
    populate(home)
    found = states(home)
    assert {"static-prompts", "aleph-toml-showcase"} <= set(found)
    assert found["aleph-toml-showcase"] == "needs_review" and found["static-prompts"] == "enabled"
    built = Path(__file__).resolve().parents[1] / "plugins_demo/wasm-notes/notes.wasm"
    invalid = {k for k, v in found.items() if v == "invalid"}
    # wasm-notes is invalid only when its AssemblyScript build has not run (make demo-build)
    assert invalid <= ({"wasm-notes"} if not built.exists() else set())
