"""Shared fixtures of the GUI tests (imported by each tests/test_gui_*.py; holds no tests itself).

Every window runs on a real qasync loop with a real ExtensionManager over a plugin home in
tmp_path, and QSettings pointed at an ini file in tmp_path.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import textwrap
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from plugin_files import approve

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox  # noqa: E402
from qasync import QEventLoop  # noqa: E402

from aleph_gui.core.manager import ExtensionManager  # noqa: E402
from aleph_gui.core.paths import Locations  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMOS = REPO / "plugins_demo"
WAT_DEMO = DEMOS / "wasm-wat-text-tools"


def run(loop: QEventLoop, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
    """Drive a coroutine on the qasync loop (Qt events are processed meanwhile)."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


def wait_until(loop: QEventLoop, predicate: Callable[[], bool], timeout: float = 15) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    try:
        run(loop, poll(), timeout)
    except TimeoutError:
        pytest.fail(f"condition not met within {timeout} s")


def write_static_plugin(folder: Path, plugin_id: str, version: str = "1.0.0", scope: str = "") -> Path:
    """A plugin with only declarations (no code): a skill and, optionally, a scope."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "aleph.plugin.toml").write_text(textwrap.dedent(f"""\
        [plugin]
        id = "{plugin_id}"
        name = "{plugin_id.replace('-', ' ').title()}"
        version = "{version}"
        description = "Static test plugin {plugin_id}"
        kind = "static"

        [[capabilities]]
        type = "skill"
        name = "{plugin_id}:explain"
        description = "Explains things"
        """) + scope)
    return folder


def write_wat_plugin(folder: Path, plugin_id: str, apis: str = '["log"]') -> Path:
    """The WASM demo (hand-written WAT, real Extism) under another id and requested API list."""
    shutil.copytree(WAT_DEMO, folder)
    manifest = folder / "aleph.plugin.toml"
    text = manifest.read_text().replace('id = "wasm-wat-text-tools"', f'id = "{plugin_id}"')
    text = text.replace('allowed_apis = ["log"]', f"allowed_apis = {apis}")
    manifest.write_text(text)
    return folder


def demo_home(root: Path) -> Path:
    """A home like the demo: WASM tools (approved, enabled), one needing review, a static one, a broken one."""
    plugins = root / "home" / "plugins"
    approve(root / "home", write_wat_plugin(plugins / "wasm-wat-text-tools", "wasm-wat-text-tools"))
    write_wat_plugin(plugins / "kv-text-tools", "kv-text-tools", apis='["log", "kv"]')
    write_static_plugin(plugins / "net-skills", "net-skills",
                        scope='\n[scope]\nnetwork_access = { mode = "allow", hosts = ["api.example.com"] }\n')
    write_static_plugin(plugins / "plain-skills", "plain-skills")
    broken = plugins / "broken"
    broken.mkdir(parents=True)
    (broken / "aleph.plugin.toml").write_text('[plugin]\nid = "Broken_Plugin"\nversion = "one"\n')
    return root / "home"


class ModalGuard:
    """Fails the test when a dialog is shown that the test did not announce with `expect()`."""

    def __init__(self) -> None:
        self.expected = 0
        self.opened: list[QDialog] = []
        self.unexpected: list[str] = []

    def expect(self, n: int = 1) -> None:
        self.expected += n

    def record(self, dialog: QDialog) -> None:
        self.opened.append(dialog)
        if len(self.opened) > self.expected:
            self.unexpected.append(f"{type(dialog).__name__} '{dialog.windowTitle()}'")


@pytest.fixture(autouse=True)
def modal_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModalGuard]:
    guard = ModalGuard()

    def blocking(*args: Any, **kwargs: Any) -> Any:
        pytest.fail("a blocking modal dialog (exec / static QMessageBox / QFileDialog) was opened")

    for cls in (QDialog, QMessageBox, QFileDialog):
        original = cls.open

        def opened(self: QDialog, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            guard.record(self)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "open", opened)
        monkeypatch.setattr(cls, "exec", blocking)
    for name in ("question", "warning", "critical", "information", "about"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(blocking))
    for name in ("getOpenFileName", "getExistingDirectory", "getSaveFileName", "getOpenFileNames"):
        monkeypatch.setattr(QFileDialog, name, staticmethod(blocking))
    yield guard
    for dialog in guard.opened:
        if shiboken6.isValid(dialog):  # its window may already be gone
            dialog.close()
    if guard.unexpected:
        pytest.fail("unexpected dialog(s) opened: " + ", ".join(guard.unexpected))


@pytest.fixture
def qloop(qapp: Any) -> Iterator[QEventLoop]:
    loop = QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def copy_demo(home: Path, name: str) -> Path:
    """One of plugins_demo/ copied into the home's plugins folder (as `make run`'s demo home does)."""
    target = home / "plugins" / name
    shutil.copytree(DEMOS / name, target, ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    return target


def make_window(qtbot: Any, qloop: QEventLoop, home: Path, settings: QSettings, *, watch: bool = False,
                safe_mode: bool = False, project: Path | None = None, builtin: Path | None = None) -> Any:
    from aleph_gui.ui.main_window import MainWindow

    manager = ExtensionManager(Locations(home=home, project=project, builtin=builtin), safe_mode=safe_mode,
                               watch=watch)
    window = MainWindow(manager, settings)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    assert run(qloop, window.start())
    return window


def close_window(qloop: QEventLoop, window: Any) -> None:
    window.close()
    run(qloop, window.wait_idle())
    run(qloop, window.manager.stop())


@pytest.fixture
def window(qtbot: Any, qloop: QEventLoop, tmp_path: Path, settings: QSettings) -> Iterator[Any]:
    w = make_window(qtbot, qloop, demo_home(tmp_path), settings)
    yield w
    close_window(qloop, w)


def row_of(window: Any, plugin_id: str) -> dict[str, str]:
    """What the user reads in the plugin table for one plugin (by column title)."""
    from aleph_gui.ui.plugin_table import COLUMNS

    model = window.model
    n = model.row_of(plugin_id)
    assert n >= 0, f"{plugin_id} is not listed"
    return {title: model.index(n, col).data() or "" for col, title in enumerate(COLUMNS)}
