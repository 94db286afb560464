"""The main window: plugin table + details, hook log and skills docks, review / trust / safe-mode bars.

Manager events arrive on the asyncio loop (and trace records may arrive from worker threads),
so every event is appended to a queue and applied once per QTimer tick: hook rows as one batch
insert, plugin changes as row updates. Every user action is a manager call awaited on the qasync
loop; the window never waits on plugin code.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections import deque
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QItemSelectionModel, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.core import events as ev
from aleph_gui.core.activity import Activity
from aleph_gui.core.errors import AlephError, UnknownPlugin
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.trace import TraceRecord
from aleph_gui.ui import theme
from aleph_gui.ui.actions import Actions, build_actions
from aleph_gui.ui.activity_chart import SparklineDelegate
from aleph_gui.ui.banner import MessageBar, SafeModeBanner, TrustBanner
from aleph_gui.ui.details import TAB_NAMES, DetailsPane
from aleph_gui.ui.hook_log import HookLogPanel
from aleph_gui.ui.hook_log_model import HookRate
from aleph_gui.ui.icons import app_icon, icon
from aleph_gui.ui.mcp_pane import McpPane
from aleph_gui.ui.plugin_table import (
    COL_ACTIVITY,
    COL_KIND,
    COL_NAME,
    COL_RISK,
    COL_STATUS,
    PLUGIN_ID_ROLE,
    ChipDelegate,
    PluginFilterProxy,
    PluginTableModel,
)
from aleph_gui.ui.review_dialog import ReviewBar, ReviewDialog
from aleph_gui.ui.services_pane import ServicesPane
from aleph_gui.ui.settings_pane import SettingsPane
from aleph_gui.ui.skills_browser import SkillsBrowser
from aleph_gui.ui.window_actions import WindowActions
from aleph_gui.ui.window_views import ACTIVITY_REFRESH_S, INSPECT_DELAY_MS, SKILLS_REFRESH_S, WindowViews

log = logging.getLogger(__name__)

TICK_MS = 100  # one hook-log insert and repaint per tick, however fast events arrive
FRAME_S = 0.016  # while events are few, they are applied at most once a frame
SPARSE_BATCH = 20  # a batch this small means events are few
RATE_REFRESH_S = 1.0
TARGETED_UPDATES_MAX = 20  # beyond this many changed plugins in one tick, re-read the whole list
FILTER_HELP = "Filter: text, @enabled @disabled @review @error, kind:wasm, origin:user, scope:network"
ORG_NAME = "Aleph"
APP_NAME = "Extension Manager"


class MainWindow(WindowActions, WindowViews, QMainWindow):
    """`start()` starts the manager; `ticked` fires after each batch of events was applied."""

    ticked = Signal()

    def __init__(self, manager: ExtensionManager, settings: QSettings | None = None, tick_ms: int = TICK_MS) -> None:
        super().__init__()
        self.manager = manager
        self.settings = settings if settings is not None else QSettings(ORG_NAME, APP_NAME)
        self._queue: deque[ev.ChangeEvent] = deque()  # deque.append is thread-safe
        self._unsubscribe = manager.subscribe(self._enqueue)
        self._applied_at = 0.0  # monotonic time events were last applied
        self._apply_scheduled = False
        self._sparse = True  # the last batch was small: apply the next events without waiting for the tick
        self._rate = HookRate()
        self._rate_refreshed = 0.0
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ready = False
        self.start_error = ""
        self.review_dialog: ReviewDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.activity = Activity()
        self._activity_version: tuple[int, int] = (-1, -1)
        self._activity_refreshed = 0.0
        self._skills_dirty = True
        self._skills_refreshed = 0.0
        self.file_dialog: QFileDialog | None = None
        self.setWindowTitle("Aleph Extension Manager")
        self.setWindowIcon(app_icon())
        self.setAccessibleName("Aleph Extension Manager")
        self.setAcceptDrops(True)
        self._build()
        self.acts = build_actions(self, self.table)
        self._build_menus(self.acts)
        self._connect(self.acts)
        self._restore_settings()
        self._update_placeholder()
        self._selection_changed()
        self.inspect_timer = QTimer(self)
        self.inspect_timer.setSingleShot(True)
        self.inspect_timer.setInterval(INSPECT_DELAY_MS)
        self.inspect_timer.timeout.connect(lambda: self.spawn(self.inspect_selected()))
        self.timer = QTimer(self)
        self.timer.setInterval(tick_ms)
        self.timer.timeout.connect(self.apply_pending)
        self.timer.start()

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        from aleph_gui.ui.try_it import TryItPanel

        self.model = PluginTableModel(self)
        self.proxy = PluginFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.sort(COL_STATUS, Qt.SortOrder.AscendingOrder)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText(FILTER_HELP)
        self.filter_edit.setAccessibleName("Filter plugins")
        self.filter_edit.setToolTip(FILTER_HELP + " (Ctrl+F). Tokens of one kind are alternatives; "
                                    "everything else must match.")
        self.filter_edit.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setAccessibleName("Plugin count")

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Plugins")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_STATUS, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        chips = ChipDelegate(self.table)
        self.table.setItemDelegateForColumn(COL_KIND, chips)
        self.table.setItemDelegateForColumn(COL_RISK, chips)
        self.table.setItemDelegateForColumn(COL_ACTIVITY, SparklineDelegate(self.table))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        for col, width in ((COL_STATUS, 125), (2, 62), (COL_KIND, 82), (4, 70), (COL_RISK, 80), (6, 70),
                           (COL_ACTIVITY, 120)):
            header.resizeSection(col, width)

        self.placeholder = QLabel(self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAccessibleName("Plugin list status")
        self.placeholder.setMargin(24)
        self.table_stack = QStackedWidget(self)
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.placeholder)

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        filter_row = QHBoxLayout()
        filter_row.addWidget(self.filter_edit, 1)
        filter_row.addWidget(self.count_label)
        left_layout.addLayout(filter_row)
        left_layout.addWidget(self.table_stack, 1)

        self.try_it = TryItPanel(self.manager, self)
        self.settings_pane = SettingsPane(self.manager, self)
        self.services_pane = ServicesPane(self.manager, self)
        self.mcp_pane = McpPane(self.manager, self)
        self.try_it.known_mcp_tools = self.mcp_pane.known_tools
        self.try_it.remember_mcp_tools = self.mcp_pane.remember
        self.details = DetailsPane(self.try_it, self.settings_pane, self.services_pane, self.mcp_pane, self)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)

        self.safe_banner = SafeModeBanner(self)
        self.trust_banner = TrustBanner(self)
        self.review_bar = ReviewBar(self)
        self.message_bar = MessageBar(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.safe_banner)
        layout.addWidget(self.trust_banner)
        layout.addWidget(self.review_bar)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.hook_log = HookLogPanel(self)
        self.hook_log.history_source = self.manager.audit
        self.hook_dock = QDockWidget("Hook log", self)
        self.hook_dock.setObjectName("hookLogDock")
        self.hook_dock.setAccessibleName("Hook log")
        self.hook_dock.setWidget(self.hook_log)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.hook_dock)
        self.skills = SkillsBrowser(self)
        self.skills_dock = QDockWidget("Skills, commands and agents", self)
        self.skills_dock.setObjectName("skillsDock")
        self.skills_dock.setAccessibleName("Skills, commands and agents")
        self.skills_dock.setWidget(self.skills)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.skills_dock)
        self.tabifyDockWidget(self.hook_dock, self.skills_dock)
        self.hook_dock.raise_()
        self.statusBar().showMessage("Starting…")

    def _build_menus(self, a: Actions) -> None:
        bar = self.menuBar()
        plugin = bar.addMenu("&Plugin")
        self.untrust_action = QAction("Stop &trusting this project folder", self)
        self.untrust_action.setToolTip("The plugins of this project folder stop running until you trust it again")
        for act in (a.toggle_enabled, a.reload, a.reload_all, None, a.review, a.open_folder, None, a.install_zip,
                    a.install_folder, a.uninstall, None, self.untrust_action, None, a.quit):
            plugin.addSeparator() if act is None else plugin.addAction(act)
        view = bar.addMenu("&View")
        view.addAction(a.find)
        view.addAction(a.try_it)
        log_toggle = self.hook_dock.toggleViewAction()
        log_toggle.setShortcut("Ctrl+L")
        log_toggle.setText("&Hook log")
        view.addAction(log_toggle)
        self.history_action = QAction("Hook &history", self)
        self.history_action.setShortcut("Ctrl+H")
        self.history_action.setToolTip("Past hook calls from the audit log (Ctrl+H)")
        view.addAction(self.history_action)
        self.skills_action = QAction("S&kills, commands and agents", self)
        self.skills_action.setShortcut("Ctrl+Shift+K")
        self.skills_action.setToolTip("Browse every skill, command and agent (Ctrl+Shift+K)")
        view.addAction(self.skills_action)
        self.addActions([self.history_action, self.skills_action])
        self.tab_actions: list[QAction] = []
        for n, name in enumerate(TAB_NAMES):  # Alt+1 … Alt+0 jump to a details tab
            act = QAction(f"Show {name}", self)
            act.setShortcut(QKeySequence(f"Alt+{(n + 1) % 10}"))
            act.triggered.connect(lambda _c=False, tab=name: self.show_view(tab))
            self.addAction(act)
            self.tab_actions.append(act)
        view.addAction(a.dark_theme)
        view.addSeparator()
        view.addAction(a.safe_mode)
        tools = QToolBar("Actions", self)
        tools.setObjectName("mainToolbar")
        tools.setAccessibleName("Actions")
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for act in (a.toggle_enabled, a.reload, a.reload_all, a.review, a.install_zip, a.install_folder,
                    a.uninstall, a.open_folder, a.safe_mode):
            tools.addAction(act)
        self.addToolBar(tools)
        self.table.addActions([a.reload, a.review, a.open_folder, a.try_it])

    def _connect(self, a: Actions) -> None:
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.proxy.rowsInserted.connect(lambda *_: self._update_placeholder())
        self.proxy.rowsRemoved.connect(lambda *_: self._update_placeholder())
        self.proxy.modelReset.connect(self._update_placeholder)
        a.toggle_enabled.triggered.connect(lambda: self.spawn(self.toggle_selected()))
        a.reload.triggered.connect(lambda: self.spawn(self.reload_selected()))
        a.reload_all.triggered.connect(lambda: self.spawn(self.reload_all()))
        a.install_folder.triggered.connect(lambda: self.ask_install(folder=True))
        a.install_zip.triggered.connect(lambda: self.ask_install(folder=False))
        a.uninstall.triggered.connect(self.ask_uninstall)
        a.open_folder.triggered.connect(self.open_folder)
        a.review.triggered.connect(lambda: self.open_review(self.selected_id()))
        a.safe_mode.toggled.connect(lambda on: self.spawn(self.set_safe_mode(on)))
        a.find.triggered.connect(lambda: (self.filter_edit.setFocus(), self.filter_edit.selectAll()))
        a.try_it.triggered.connect(lambda: (self.details.select_tab("Try it"), self.try_it.tool_combo.setFocus()))
        a.dark_theme.toggled.connect(self.set_dark)
        a.quit.triggered.connect(self.close)
        self.review_bar.review_requested.connect(self.open_review)
        self.trust_banner.trust.connect(lambda folder: self.spawn(self.set_trusted(folder, True)))
        self.trust_banner.details.connect(self.show_trust_details)
        self.untrust_action.triggered.connect(lambda: self.spawn(self.set_trusted(None, False)))
        self.history_action.triggered.connect(lambda: self.show_view("History"))
        self.skills_action.triggered.connect(lambda: self.show_view("Skills"))
        self.skills_dock.visibilityChanged.connect(lambda visible: visible and self._refresh_skills(force=True))
        self.mcp_pane.try_tool.connect(self.try_tool)
        self.settings_pane.saved.connect(lambda _pid: self.apply_pending())
        self.services_pane.changed.connect(lambda _pid: self.apply_pending())
        self.safe_banner.leave.connect(lambda: a.safe_mode.setChecked(False))
        self.details.overview.open_folder.connect(self.open_folder)
        self.details.overview.review.connect(lambda: self.open_review(self.selected_id()))
        self.details.permissions.review.connect(lambda: self.open_review(self.selected_id()))
        self.details.permissions.revoke.connect(lambda: self.spawn(self.revoke_selected()))
        self.try_it.event_finished.connect(lambda _d: self._refresh_details())
        a.safe_mode.blockSignals(True)
        a.safe_mode.setChecked(self.manager.safe_mode)
        a.safe_mode.blockSignals(False)
        a.dark_theme.blockSignals(True)
        a.dark_theme.setChecked(theme.is_dark())
        a.dark_theme.blockSignals(False)

    # -- settings ------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        split = s.value("window/splitter")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.splitter.restoreState(split)
        else:
            self.splitter.setSizes([760, 600])
            self.resizeDocks([self.hook_dock], [220], Qt.Orientation.Vertical)
        header = s.value("table/header")
        if isinstance(header, QByteArray) and not header.isEmpty():
            self.table.horizontalHeader().restoreState(header)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("table/header", self.table.horizontalHeader().saveState())
        s.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_settings()
        self.timer.stop()
        self._unsubscribe()
        super().closeEvent(event)

    # -- lifecycle -----------------------------------------------------------------------------
    async def start(self) -> bool:
        """Start the manager (discovery + loads) and fill the window. False when it could not start."""
        self._update_placeholder()
        try:
            await self.manager.start()
        except Exception as exc:  # shown in the window: the app stays open to say what went wrong
            log.exception("the extension manager could not start")
            self.start_error = f"Could not start the extension manager: {exc}"
            self.statusBar().showMessage(self.start_error)
            self._update_placeholder()
            return False
        self.apply_pending()
        self._seed_activity()
        # What start-up built lives as long as the window; moving it out of the collector's
        # generations keeps full GC passes short, so streaming hook rows cause no visible stalls.
        gc.freeze()
        # Plugin calls and the audit writer run in worker threads; a 1 ms GIL switch interval
        # (default 5 ms) bounds how long one of them can keep the UI thread waiting.
        sys.setswitchinterval(0.001)
        return True

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a core call on the qasync loop without waiting for it (keeps a reference)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Wait until every action started from the window has finished (tests, screenshots)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, what: str, coro: Coroutine[Any, Any, Any]) -> Any:
        """Await a manager call; its failure becomes one sentence in the message bar."""
        self.statusBar().showMessage(f"{what}…")
        try:
            result = await coro
        except AlephError as exc:
            self.message_bar.show_message(f"{what} failed: {exc}")
            self.statusBar().showMessage(f"{what} failed", 5000)
            return None
        except Exception as exc:  # a bug below must not close the window
            log.exception("%s failed", what)
            self.message_bar.show_message(f"{what} failed unexpectedly: {type(exc).__name__}: {exc}")
            self.statusBar().showMessage(f"{what} failed", 5000)
            return None
        self.statusBar().showMessage(f"{what}: done", 3000)
        self.apply_pending()
        return result if result is not None else True

    # -- events ----------------------------------------------------------------------------------
    def _enqueue(self, event: ev.ChangeEvent) -> None:
        """Queue a manager event (on the loop thread, which is this window's). While events are few they
        are applied within a frame, so a single call shows in the hook log at once; under a stream (the
        last batch was large) they wait for the tick: one insert and repaint per tick."""
        self._queue.append(event)
        if self._sparse and not self._apply_scheduled:
            self._apply_scheduled = True
            wait_ms = max(0, round((self._applied_at + FRAME_S - time.monotonic()) * 1000))
            QTimer.singleShot(wait_ms, self, self.apply_pending)  # dropped if the window is gone

    def apply_pending(self) -> None:
        """Apply every queued manager event: one hook-log batch, then plugin row updates."""
        self._apply_scheduled = False
        queue = self._queue
        self._sparse = len(queue) <= SPARSE_BATCH
        if not queue:
            self._refresh_rates()
            self.hook_log.flush_status()
            return
        self._applied_at = time.monotonic()
        hook_rows: list[TraceRecord] = []
        changed: set[str] = set()
        ready = False
        logs: list[ev.PluginLog] = []
        full = False
        for _ in range(len(queue)):
            event = queue.popleft()
            if type(event) is ev.HookTraced:
                hook_rows.append(event.record)
            elif type(event) is ev.PluginLog:
                logs.append(event)
            elif isinstance(event, (ev.Ready, ev.PluginAdded, ev.PluginRemoved)):
                full = True
                self._skills_dirty = True
                if isinstance(event, ev.Ready):
                    self.ready = True
                    ready = True
            elif event.id:
                changed.add(event.id)
            elif type(event) is ev.PluginChanged:  # id "": the standalone skills folders changed
                self._skills_dirty = True
        if hook_rows:
            self.hook_log.add_rows(hook_rows)
            # counted in a turn of their own, so the log's repaint does not wait for the counting
            QTimer.singleShot(0, self, lambda: self._count_calls(hook_rows))
        if changed:
            self._skills_dirty = True
            for plugin_id in changed:
                self.services_pane.observe(plugin_id)
        if ready:  # what runs at start-up has no "since"; every later change has one
            by_plugin: dict[str, list[dict[str, Any]]] = {}
            for svc in self.manager.services():
                by_plugin.setdefault(svc["plugin"], []).append(svc)
            for plugin_id, services in by_plugin.items():
                self.services_pane.observe(plugin_id, services)
        if full or len(changed) > TARGETED_UPDATES_MAX:
            self.model.sync(self.manager.plugins())
        else:
            for plugin_id in changed:
                try:
                    self.model.update_plugin(self.manager.plugin(plugin_id))
                except UnknownPlugin:
                    self.model.sync(self.manager.plugins())
                    break
        selected = self.selected_id()
        if full or changed:
            self._after_plugins_changed()
            if selected and (full or selected in changed):
                self._refresh_details()
        if logs and selected:
            mine = [line for line in logs if line.id == selected]
            if mine:
                self.details.append_logs(mine)
        self._refresh_rates()
        self.ticked.emit()

    def _count_calls(self, rows: list[TraceRecord]) -> None:
        self._rate.add_many(rows)
        self.activity.add_many(rows)

    def _refresh_rates(self) -> None:
        now = time.monotonic()
        if now - self._rate_refreshed >= RATE_REFRESH_S:
            self._rate_refreshed = now
            # its own turn of the event loop: not on top of this tick's batch of hook-log rows
            QTimer.singleShot(0, lambda: self.model.set_hook_counts(self._rate.counts()))
        if now - self._activity_refreshed >= ACTIVITY_REFRESH_S:
            self.refresh_activity_soon()
        if self._skills_dirty and now - self._skills_refreshed >= SKILLS_REFRESH_S:
            self._refresh_skills()

    def _after_plugins_changed(self) -> None:
        infos = self.model.infos()
        # plugins of an untrusted project folder are not offered for review: the folder comes first
        pending = [(i.id, i.name) for i in infos if i.state == "needs_review" and not i.trust_folder]
        self.review_bar.set_pending(pending)
        untrusted: dict[str, list[str]] = {}
        for i in infos:
            if i.trust_folder and i.state != "overridden":
                untrusted.setdefault(i.trust_folder, []).append(i.name)
        folder = next(iter(sorted(untrusted)), None)
        self.trust_banner.set_untrusted(folder, untrusted.get(folder, []) if folder else [])
        self.untrust_action.setEnabled(self.manager.project_folder is not None and self.manager.is_trusted())
        if self.manager.safe_mode:
            self.safe_banner.set_count(sum(1 for i in infos if i.origin != "builtin" and i.state == "disabled"))
        self.safe_banner.setVisible(self.manager.safe_mode)
        if self.selected_id() is None and self.proxy.rowCount() and self.ready:
            self.table.selectRow(0)
        self._update_placeholder()
        self._update_actions()

    def _update_placeholder(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        if self.start_error:
            text = f"⚠ {self.start_error}"
        elif not self.ready and total == 0:
            text = "Loading plugins…"
        elif total == 0:
            text = ("No plugins installed yet.\n\nDrop a plugin folder or .zip onto this window, or use "
                    "Plugin ▸ Install from .zip (Ctrl+O) / Install from folder (Ctrl+Shift+O).")
        elif shown == 0:
            text = f"No plugin matches “{self.filter_edit.text()}”.\n\n{FILTER_HELP}"
        else:
            text = ""
        self.placeholder.setText(text)
        self.table_stack.setCurrentWidget(self.placeholder if text else self.table)
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} plugins")
        if self.ready and not self.start_error:
            self.statusBar().showMessage(self._summary())

    def _summary(self) -> str:
        infos = self.model.infos()
        running = sum(1 for i in infos if i.state == "enabled")
        review = sum(1 for i in infos if i.state == "needs_review" and not i.trust_folder)
        untrusted = sum(1 for i in infos if i.trust_folder and i.state != "overridden")
        broken = sum(1 for i in infos if i.state in ("invalid", "failed", "crashed"))
        parts = [f"{len(infos)} plugins", f"{running} enabled"]
        if review:
            parts.append(f"{review} need review")
        if untrusted:
            parts.append(f"{untrusted} wait for a trusted folder")
        if broken:
            parts.append(f"{broken} with errors")
        return " · ".join(parts)

    def _filter_changed(self, text: str) -> None:
        self.proxy.set_filter_text(text)
        self._update_placeholder()

    # -- selection -------------------------------------------------------------------------------
    def selected_id(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return rows[0].data(PLUGIN_ID_ROLE)

    def selected_info(self) -> PluginInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.plugin_at(self.proxy.mapToSource(rows[0]).row())

    def select_plugin(self, plugin_id: str) -> bool:
        src = self.model.row_of(plugin_id)
        if src < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(src, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        self.inspect_soon()
        return True

    def _selection_changed(self) -> None:
        self._refresh_details()
        self._update_actions()
        self._show_selected_activity()  # the rest of the activity views do not depend on the selection
        self.inspect_soon()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.inspect_soon()
        super().changeEvent(event)

    def _refresh_details(self) -> None:
        info = self.selected_info()
        if info is None:
            self.details.show_plugin(None)
            self.try_it.set_plugin(None)
            return
        if info.state != "overridden":
            try:
                info = self.manager.plugin(info.id)
            except UnknownPlugin:
                pass
        recent = self.hook_log.model.rows()[-5000:]
        self.details.show_plugin(info, self.manager.logs(info.id), recent)
        self.try_it.set_plugin(info if info.state != "overridden" else None)

    def _update_actions(self) -> None:
        info = self.selected_info()
        has = info is not None and info.state != "overridden"
        for act in self.acts.plugin_actions():
            act.setEnabled(has)
        if info is not None:
            on = info.state not in ("disabled",)
            self.acts.toggle_enabled.setText("&Disable" if on else "&Enable")
            self.acts.toggle_enabled.setIcon(icon("disabled" if on else "enabled"))
            self.acts.uninstall.setEnabled(has and info.origin != "builtin")
            self.acts.review.setEnabled(has and (info.state == "needs_review" or info.needs_approval)
                                        and not info.trust_folder)

