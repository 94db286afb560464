"""`aleph-gui`: the desktop window on a qasync loop (Qt and asyncio share one thread).

The open window is the home's host (`aleph_gui.host`): before its manager starts it takes the home's lock —
asking a running `aleph-ext serve` to hand over first — and once the manager has started it serves the host
endpoint on the same loop, so every client's calls show in its live hook log. When another window already
hosts the home, it says so in a message and exits 1. SIGINT/SIGTERM close it cleanly.

`--screenshot FILE` renders the real window offscreen once the manager has started and the
models are filled, saves a PNG and exits 0 — for the README and for tests. It never hosts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aleph_gui.host.hosting import Hosting

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


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT/SIGTERM: the app closes cleanly (the host stops serving, host.json goes)."""
    closing = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, closing.set)
    return closing


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _until(closing: asyncio.Event, done: asyncio.Future[None]) -> None:
    """Wait for `done`, or for `closing`."""
    stop = asyncio.ensure_future(closing.wait())
    try:
        await asyncio.wait((stop, done), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()


async def _say_already_hosted(sentence: str, closing: asyncio.Event) -> int:
    """Another window hosts this home: say so and exit 1 (there is never a second host)."""
    from PySide6.QtWidgets import QMessageBox

    print(f"aleph-gui: {sentence}", file=sys.stderr, flush=True)
    box = QMessageBox(QMessageBox.Icon.Information, "Aleph Extension Manager",
                      f"Aleph is already open: {sentence}.\n\nUse the window that is open.")
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    box.finished.connect(lambda _result: _resolve(done))
    box.open()
    await _until(closing, done)
    box.close()
    return 1


async def _open_window(args: argparse.Namespace, locations, hosting: Hosting | None,  # type: ignore[no-untyped-def]
                       closing: asyncio.Event, handed_http_port: int | None = None) -> int:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from aleph_gui.core.manager import ExtensionManager
    from aleph_gui.host.endpoints import HostEndpoints
    from aleph_gui.ui.connect_dialog import ConnectAction, start_saved_http
    from aleph_gui.ui.main_window import APP_NAME, ORG_NAME, MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    manager = ExtensionManager(locations, safe_mode=args.safe_mode, watch=not args.screenshot)
    if args.screenshot:
        # a fresh settings file, so a screenshot never depends on (or changes) the user's layout
        settings = QSettings(str(Path(args.screenshot).expanduser().with_suffix(".ini.tmp")),
                             QSettings.Format.IniFormat)
        settings.clear()
    else:
        settings = QSettings(ORG_NAME, APP_NAME)
    window = MainWindow(manager, settings)
    endpoints = HostEndpoints(locations.home, manager, hosting)
    ConnectAction(window, endpoints, settings)
    if args.screenshot:
        window.resize(*SCREENSHOT_SIZE)
    window.show()
    closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    app.lastWindowClosed.connect(lambda: _resolve(closed))
    try:
        if args.screenshot:
            return await _screenshot(window, args)
        if hosting is not None:
            if await window.start():
                # The manager runs: serve the endpoint on this loop (every client's calls show in the log).
                await hosting.serve(manager)
                # The HTTP gateway (the window's setting, or the port the headless host it took over served)
                # runs on this loop too; host.json says where.
                message = await start_saved_http(settings, endpoints, handed_http_port)
                if message:
                    window.statusBar().showMessage(message, 10000)
            else:  # the window only shows what went wrong: leave the home to a host that can serve it
                hosting.release()
                hosting = endpoints.hosting = None
        await _until(closing, closed)
        window.close()
        return 0
    finally:
        await endpoints.stop_http()
        if hosting is not None:
            await hosting.stop_serving()  # calls in flight finish and are answered first
        await window.wait_idle()
        await manager.stop()
        if hosting is not None:
            hosting.release()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtWidgets import QApplication
    from qasync import QEventLoop

    from aleph_gui.core.paths import Locations
    from aleph_gui.ui import theme
    from aleph_gui.ui.icons import app_icon
    from aleph_gui.ui.main_window import APP_NAME, ORG_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setDesktopFileName("aleph-gui")
    app.setWindowIcon(app_icon())
    # Closing the window ends `run()`, which stops serving, stops the manager and then ends the loop. Qt's own
    # quit-on-last-window would stop the loop first and skip all of that (host.json left behind, exit 1).
    app.setQuitOnLastWindowClosed(False)
    theme.apply_theme(app, args.theme)
    loop = QEventLoop(app)
    asyncio.set_event_loop(loop)

    locations = Locations.from_args(args.home, args.project, no_builtin=args.no_builtin)

    async def run() -> int:
        closing = _stop_on_signals()
        hosting: Hosting | None = None
        handed_http_port = None
        if not args.screenshot:
            from aleph_gui.host.hosting import HomeHosted, Hosting
            from aleph_gui.host.info import read_host_info

            before = read_host_info(locations.home)  # a headless host serving HTTP: keep its port after taking over
            if before is not None and before.alive and before.kind == "headless" and before.http:
                handed_http_port = int(before.http.rsplit(":", 1)[1])
            try:
                hosting = await Hosting.claim(locations.home, "window", take_over=True)
            except HomeHosted as exc:
                return await _say_already_hosted(str(exc), closing)
            hosting.announce()  # clients wait for this window instead of running on their own
        return await _open_window(args, locations, hosting, closing, handed_http_port)

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
