"""Every real-world file of an Aleph format in the corpus is read without a crash; valid ones list."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from manager_helpers import headless_plugins

from aleph_gui.core.manifest.aleph_json import looks_like_claude_manifest
from aleph_gui.core.manifest.detect import load_manifest_file
from aleph_gui.core.paths import Locations

CORPUS_ROOTS = [Path(__file__).resolve().parents[2] / "shared" / "corpus",
                Path(__file__).resolve().parent / "data" / "corpus"]


def aleph_format_files() -> list[Path]:
    """TOML manifests, package.json with "aleph", and plugin.json files of Aleph shape."""
    found: list[Path] = []
    for root in (r for r in CORPUS_ROOTS if r.is_dir()):
        for path in sorted(root.rglob("*")):
            if path.name in ("aleph.plugin.toml", "plugin.toml"):
                found.append(path)
            elif path.name in ("package.json", "aleph.plugin.json", "plugin.json") and \
                    path.parent.name not in (".claude-plugin", "claude-plugin"):
                found.append(path)  # every one must be *read* safely, Aleph-shaped or not
    return found


FILES = aleph_format_files()


@pytest.mark.parametrize("path", FILES, ids=lambda p: "/".join(p.parts[-4:]))
def test_every_file_reads_without_a_crash(path: Path) -> None:
    result = load_manifest_file(path)
    for problem in result.problems:
        assert problem.message and "Traceback" not in problem.message
    if path.name == "package.json" and "aleph" not in json.loads(path.read_text()):
        assert result.manifest is None  # npm metadata, not an Aleph manifest
    if path.name == "plugin.json" and looks_like_claude_manifest(json.loads(path.read_text())):
        assert "looks like a Claude Code manifest" in result.problems[0].message


def test_corpus_copy_is_complete_enough() -> None:
    assert len(FILES) >= 15


def test_valid_aleph_plugins_list(tmp_path: Path) -> None:
    """Install every corpus Aleph TOML plugin into a tmp home (with the entry files a build would make)."""
    home = tmp_path / "home"
    seen_ids: set[str] = set()
    for path in (p for p in FILES if p.name == "aleph.plugin.toml"):
        text = path.read_text()
        plugin_id = text.split('id = "', 1)[1].split('"', 1)[0]
        if plugin_id in seen_ids:
            continue
        seen_ids.add(plugin_id)
        folder = home / "plugins" / f"{plugin_id}-{len(seen_ids)}"
        shutil.copytree(path.parent, folder)
        entry = text.split('entry = "', 1)[1].split('"', 1)[0]
        (folder / entry).parent.mkdir(parents=True, exist_ok=True)
        (folder / entry).write_bytes(b"")
    infos = headless_plugins(Locations(home=home, project=None, builtin=None))
    states = {i.id: i.state for i in infos}
    problems = {i.id: [p.sentence() for p in i.problems] for i in infos}
    expected = {"diagnostics", "diff-viewer", "llm-task", "media-office", "memory-analytics",
                "phone-control", "voice-call", "media-video"}
    assert expected <= set(states)
    for plugin_id in expected:
        assert states[plugin_id] in ("enabled", "needs_review"), problems[plugin_id]
    # no warnings either: Aleph's real spelling is fully understood
    assert all(not p for p in problems.values()), problems
    by_id = {i.id: i for i in infos}
    assert len(by_id["phone-control"].manifest.of_type("tool")) == 9
    assert by_id["diagnostics"].manifest.of_type("service")[0].name == "metrics-collector"
