"""`aleph-gui`: the desktop window on a qasync loop (Qt and asyncio share one thread).

`--screenshot FILE` renders the real window offscreen once the manager has started and the
models are filled, saves a PNG and exits 0 — for the README and for tests.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

SCREENSHOT_SIZE = (1360, 860)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="aleph-gui", description="Aleph Extension Manager (desktop window)")
    p.add_argument("--home", help="Aleph home folder (default: $ALEPH_HOME or ~/.aleph)")
    p.add_argument("--project", help="project folder whose .aleph/plugins are loaded (default: current dir)")
    p.add_argument("--no-builtin", action="store_true", help="do not load the built-in plugins")
    p.add_argument("--safe-mode", action="store_true", help="run only built-in plugins")
    p.add_argument("--theme", choices=("auto", "light", "dark"), default="auto", help="colour palette")
    p.add_argument("--screenshot", metavar="FILE", help="render the window to a PNG file and exit")
    p.add_argument("--select", metavar="ID", help="with --screenshot: the plugin to select")
    p.add_argument("--tab", metavar="NAME", help="with --screenshot: the details tab to show (e.g. Permissions, "
                                                 "Settings, Services, \"MCP servers\"), or Skills / History")
    p.add_argument("--fire", metavar="EVENT", action="append", default=[],
                   help="with --screenshot: fire this event first so the hook log has rows (repeatable)")
    return p.parse_args(argv)


async def _screenshot(window, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    if not await window.start():
        log.error("%s", window.start_error)
    for event in args.fire:
        await window.manager.fire(event, {"text": "hello from the screenshot", "tool_name": "uppercase"})
    await asyncio.sleep(0.1)  # let trace events reach the queue
    window.apply_pending()
    window.hook_log.show_status()  # the status line is throttled while streaming; show the final count
    if args.select and not window.select_plugin(args.select):
        print(f"aleph-gui: no plugin '{args.select}' to select", file=sys.stderr)
    if args.tab and not window.show_view(args.tab):
        print(f"aleph-gui: no tab '{args.tab}'", file=sys.stderr)
    await window.wait_idle()
    window.refresh_activity(force=True)
    # the loop runs Qt's events while it sleeps (a nested processEvents() would re-enter running tasks):
    # layouts settle and a skill's body, read in a worker thread, arrives
    for _ in range(10):
        await asyncio.sleep(0.02)
    ok = window.grab().save(str(Path(args.screenshot).expanduser()), "PNG")
    if not ok:
        print(f"aleph-gui: could not write {args.screenshot}", file=sys.stderr)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication
    from qasync import QEventLoop

    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.core.paths import Locations
    from aleph_gui.ui import theme
    from aleph_gui.ui.icons import app_icon
    from aleph_gui.ui.main_window import APP_NAME, ORG_NAME, MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName("aleph-gui")
    app.setWindowIcon(app_icon())
    theme.apply_theme(app, args.theme)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)

    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)
    manager = ExtensionManager(locations, safe_mode=args.safe_mode, watch=not args.screenshot)
    if args.screenshot:
        # a fresh settings file, so a screenshot never depends on (or changes) the user's layout
        settings = QSettings(str(Path(args.screenshot).expanduser().with_suffix(".ini.tmp")),
                             QSettings.Format.IniFormat)
        settings.clear()
    else:
        settings = QSettings(ORG_NAME, APP_NAME)
    window = MainWindow(manager, settings)
    if args.screenshot:
        window.resize(*SCREENSHOT_SIZE)
    window.show()

    async def run() -> int:
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        try:
            if args.screenshot:
                return await _screenshot(window, args)
            await window.start()
            await closed.wait()
            return 0
        finally:
            await window.wait_idle()
            await manager.stop()

    with loop:
        try:
            code = loop.run_until_complete(run())
        except RuntimeError:
            # Qt stopped before the window closed (the display went away, the session ended). Plugin
            # processes see their stdin close and exit by themselves; say what happened, no traceback.
            print("aleph-gui: the window system ended the app before it could close cleanly", file=sys.stderr)
            sys.stderr.flush()
            # The loop that owns the manager's tasks and worker threads is gone, so a normal interpreter
            # exit would wait on them forever; every state change is already committed to SQLite.
            os._exit(1)
    if args.screenshot:
        Path(args.screenshot).expanduser().with_suffix(".ini.tmp").unlink(missing_ok=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
