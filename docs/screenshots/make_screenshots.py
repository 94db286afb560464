"""Regenerate the README's screenshots from the real build: the demo plugins in a fresh home, the real
window offscreen, and the clicks a user would make before each picture (start a service, list an MCP
server's tools, ask a provider, fire events so the charts and the log have something to show).

    .venv/bin/python docs/screenshots/make_screenshots.py [OUT_DIR]

Needs the demo plugins built (`make demo-build`), Node.js and Python for the Node and MCP demos.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from qasync import QEventLoop  # noqa: E402

from aleph_gui.core.manager import ExtensionManager  # noqa: E402
from aleph_gui.core.paths import BUILTIN_PLUGINS, Locations  # noqa: E402
from aleph_gui.demo_home import populate  # noqa: E402
from aleph_gui.ui import theme  # noqa: E402

SIZE = (1360, 860)


async def settle(window, rounds: int = 15) -> None:  # type: ignore[no-untyped-def]
    """Let queued events, worker threads and layouts finish (the loop runs Qt's events while sleeping)."""
    await window.wait_idle()
    for _ in range(rounds):
        await asyncio.sleep(0.03)
    window.apply_pending()
    window.refresh_activity(force=True)
    window.hook_log.show_status()
    await asyncio.sleep(0.05)


async def shoot(window, out: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    await settle(window)
    path = out / name
    assert window.grab().save(str(path), "PNG"), f"could not write {path}"
    print(f"wrote {path}", file=sys.stderr)


def project_with_a_plugin(root: Path) -> Path:
    """A cloned repository that ships a plugin: the window asks to trust the folder first."""
    project = root / "cloned-repo"
    plugin = project / ".aleph" / "plugins" / "repo-helpers"
    plugin.mkdir(parents=True)
    (plugin / "aleph.plugin.toml").write_text(textwrap.dedent("""\
        [plugin]
        id = "repo-helpers"
        name = "Repo Helpers"
        version = "0.1.0"
        description = "Prompts this repository ships for its contributors."
        kind = "static"

        [[capabilities]]
        type = "skill"
        name = "repo-helpers:review"
        description = "How this project reviews changes"
        """))
    return project


async def run(out: Path, root: Path) -> None:
    from aleph_gui.ui.main_window import MainWindow

    home = root / "home"
    populate(home)
    project = project_with_a_plugin(root)
    manager = ExtensionManager(Locations(home=home, project=project, builtin=BUILTIN_PLUGINS))
    settings = QSettings(str(root / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(manager, settings)
    window.resize(*SIZE)
    window.show()
    assert await window.start(), window.start_error
    m = manager

    # traffic for the charts, the log and the glance line: tool calls, messages, a few blocked
    for n in range(40):
        await m.fire("message_received", {"text": "buy spam now" if n % 8 == 0 else f"hello {n}"}, client="demo")
        await m.call_tool("wasm-wat-text-tools", "uppercase", {"text": f"call {n}"}, client="claude")
        await asyncio.sleep(0.01)

    window.select_plugin("wasm-wat-text-tools")
    window.show_view("Overview")
    await shoot(window, out, "main.png")

    window.select_plugin("tool-rate-limiter")
    window.show_view("Settings")
    await m.set_setting("tool-rate-limiter", "tool_limits", {"search_web": 10, "files/write": 30})
    await settle(window)
    limits = window.settings_pane.fields["max_calls_per_minute"]
    limits.edit.setText("ten")  # what a typo looks like: the check says it beside the field
    limits.changed.emit()
    await shoot(window, out, "settings.png")
    window.settings_pane.revert()

    window.select_plugin("node-assistant-kit")
    window.show_view("Services")
    await settle(window)
    await window.services_pane.act("clock", start=True)
    await asyncio.sleep(1.2)  # the clock logs a tick
    window.apply_pending()
    await shoot(window, out, "services.png")

    window.select_plugin("mcp-time-server")
    window.show_view("MCP servers")
    await settle(window)
    await window.mcp_pane.list_tools("time")
    names = window.mcp_pane.tool_names()
    if "convert_time" in names:
        window.mcp_pane.tools.setCurrentItem(window.mcp_pane.tools.topLevelItem(names.index("convert_time")))
    await shoot(window, out, "mcp-servers.png")

    window.select_plugin("node-assistant-kit")
    window.show_view("Try it")
    window.try_it.show_entry_points()
    box = window.try_it.entry
    box.select("provider", "rules")
    box.input.setPlainText("hello, what can you do?")
    await box.run()
    await shoot(window, out, "try-it.png")

    window.select_plugin("aleph-toml-showcase")
    window.show_view("Permissions")
    await shoot(window, out, "permissions.png")

    window.show_view("Skills")
    window.skills.select("writing-skills:plain-language")
    await shoot(window, out, "skills.png")

    window.show_view("History")
    await shoot(window, out, "history.png")

    await window.services_pane.act("clock", start=False)
    window.close()
    await window.wait_idle()
    await manager.stop()


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent).resolve()
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)
    theme.apply_theme(app, "light")
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)
    # a stable path: it shows in the pictures (the trust bar names the project folder)
    root = Path(tempfile.gettempdir()) / "aleph-screenshots"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    try:
        with loop:
            loop.run_until_complete(run(out, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
