"""The hook log dock: Live (every call as it happens, fed in batches per timer tick) or History (the audit
log the manager keeps in state.db, for a time range), with the same filters, pause / follow / clear,
export as JSON Lines, and one line of activity at a glance (the slowest handler, the top blocker).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QDateTime, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.core.trace import TraceRecord
from aleph_gui.ui import theme
from aleph_gui.ui.activity_chart import GlanceLine
from aleph_gui.ui.hook_log_model import (
    COL_DECISION,
    COL_DURATION,
    COL_EVENT,
    COL_PLUGIN,
    COL_TIME,
    DECISIONS,
    RING_CAPACITY,
    HookLogFilter,
    HookLogModel,
)
from aleph_gui.ui.icons import icon

log = logging.getLogger(__name__)

STATUS_REFRESH_S = 0.5
HISTORY_LIMIT = 20_000  # newest rows of a range shown at once; a narrower range shows older ones
RANGES = (("Last hour", 3600), ("Last 24 hours", 86_400), ("Last 7 days", 7 * 86_400), ("Custom range", 0))
TIME_FORMAT = "yyyy-MM-dd HH:mm"
HistorySource = Callable[..., list[TraceRecord]]  # manager.audit(limit, plugin=, event=, since=, until=)


def when(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


class HookLogPanel(QWidget):
    """The dock's content: Live / History switch, filters, actions, the table."""

    def __init__(self, parent: QWidget | None = None, capacity: int = RING_CAPACITY) -> None:
        super().__init__(parent)
        self.model = HookLogModel(capacity, self)
        self.history_model = HookLogModel(HISTORY_LIMIT, self, with_date=True)
        self.history_source: HistorySource | None = None
        self.history_loaded = False
        # The filter proxy is attached only while a filter is set: attached, it runs Python for
        # every streamed row, which is most of the UI thread's work at thousands of calls a second.
        self.proxy = HookLogFilter(self)
        self._held: list[TraceRecord] = []  # rows that arrived while paused
        self._status_shown = 0.0
        self._status_dirty = False
        self._history_note = ""
        self.export_dialog: QFileDialog | None = None

        self.live_button = self._tool("live", "Live", "Show calls as they happen", checkable=True)
        self.history_button = self._tool("history", "History", "Show past calls from the audit log (Ctrl+H)",
                                         checkable=True)
        self.live_button.setChecked(True)
        modes = QButtonGroup(self)
        modes.setExclusive(True)
        modes.addButton(self.live_button)
        modes.addButton(self.history_button)

        self.event_filter = QLineEdit(self)
        self.event_filter.setPlaceholderText("Event…")
        self.event_filter.setAccessibleName("Filter hook log by event")
        self.event_filter.setClearButtonEnabled(True)
        self.plugin_filter = QLineEdit(self)
        self.plugin_filter.setPlaceholderText("Plugin…")
        self.plugin_filter.setAccessibleName("Filter hook log by plugin")
        self.plugin_filter.setClearButtonEnabled(True)
        self.decision_filter = QComboBox(self)
        self.decision_filter.setAccessibleName("Filter hook log by decision")
        self.decision_filter.addItem("All decisions", "")
        for d in DECISIONS:
            self.decision_filter.addItem(icon(d), theme.DECISION_WORDS[d].lower(), d)
        self.decision_filter.addItem(icon("error"), "errors", "error")

        self.pause_button = self._tool("pause", "Pause", "Pause the hook log (new calls are held)", checkable=True)
        self.follow_button = self._tool("follow", "Follow", "Keep the newest call in view", checkable=True)
        self.follow_button.setChecked(True)
        self.clear_button = self._tool("clear", "Clear", "Clear the hook log")
        self.range_combo = QComboBox(self)
        self.range_combo.setAccessibleName("Time range of the history")
        for label, seconds in RANGES:
            self.range_combo.addItem(label, seconds)
        self.range_combo.setCurrentIndex(1)
        self.since_edit = self._time_edit("History from")
        self.until_edit = self._time_edit("History until")
        self.refresh_button = self._tool("reload", "Refresh", "Read the history again")
        self.export_button = self._tool("export", "Export…", "Export the shown calls as JSON Lines")
        self.status = QLabel("No hook calls yet", self)
        self.status.setAccessibleName("Hook log status")
        self.glance = GlanceLine(self)
        self.glance.setAccessibleName("Activity at a glance")
        self.glance.hide()

        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setAccessibleName("Hook log")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # The scroll bar moves on every tick while calls stream; it paints all of itself, so its update
        # need not repaint the dock behind it.
        self.view.verticalScrollBar().setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        for col, width in ((COL_TIME, 100), (COL_EVENT, 150), (COL_PLUGIN, 170), (COL_DECISION, 110),
                           (COL_DURATION, 80)):
            header.resizeSection(col, width)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.live_button, self.history_button, self.event_filter, self.plugin_filter,
                  self.decision_filter, self.pause_button, self.follow_button, self.clear_button, self.range_combo,
                  self.since_edit, self.until_edit, self.refresh_button, self.export_button):
            bar.addWidget(w)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.glance)
        layout.addWidget(self.view)

        self.event_filter.textChanged.connect(lambda t: self._refilter(event=t))
        self.plugin_filter.textChanged.connect(lambda t: self._refilter(plugin=t))
        self.decision_filter.currentIndexChanged.connect(
            lambda _n: self._refilter(decision=self.decision_filter.currentData()))
        self.pause_button.toggled.connect(self.set_paused)
        self.follow_button.toggled.connect(lambda on: on and self.view.scrollToBottom())
        self.clear_button.clicked.connect(self.clear)
        self.export_button.clicked.connect(self.ask_export)
        self.history_button.toggled.connect(self.set_history)
        self.range_combo.currentIndexChanged.connect(lambda _n: self._range_changed())
        self.refresh_button.clicked.connect(self.load_history)
        self._show_mode_controls()

    def _tool(self, icon_name: str, text: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon(icon_name))
        b.setText(text)
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.setCheckable(checkable)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return b

    def _time_edit(self, name: str) -> QDateTimeEdit:
        edit = QDateTimeEdit(self)
        edit.setDisplayFormat(TIME_FORMAT)
        edit.setCalendarPopup(True)
        edit.setAccessibleName(name)
        edit.setToolTip(name)
        edit.dateTimeChanged.connect(lambda _t: self._custom_edited())
        return edit

    # -- mode --------------------------------------------------------------------------------
    @property
    def history(self) -> bool:
        return self.history_button.isChecked()

    def active_model(self) -> HookLogModel:
        return self.history_model if self.history else self.model

    def set_history(self, on: bool) -> None:
        """Switch between the live stream and the audit history (read when first shown)."""
        if self.history_button.isChecked() != on:
            (self.history_button if on else self.live_button).setChecked(True)
            return
        self._show_mode_controls()
        self._attach()
        if on and not self.history_loaded:
            self.load_history()
        else:
            self.show_status()

    def _show_mode_controls(self) -> None:
        history = self.history
        self.view.horizontalHeader().resizeSection(COL_TIME, 178 if history else 100)  # history shows dates
        for w in (self.pause_button, self.follow_button, self.clear_button):
            w.setVisible(not history)
        custom = history and self.range_combo.currentData() == 0
        self.range_combo.setVisible(history)
        self.refresh_button.setVisible(history)
        self.since_edit.setVisible(custom)
        self.until_edit.setVisible(custom)
        self.export_button.setToolTip("Export the shown " + ("history" if history else "calls") + " as JSON Lines")

    def _attach(self) -> None:
        """Point the table at the active model, through the filter proxy only while a filter is set."""
        model = self.active_model()
        if self.proxy.active:
            if self.proxy.sourceModel() is not model:
                self.proxy.setSourceModel(model)
            if self.view.model() is not self.proxy:
                self.view.setModel(self.proxy)
        else:
            if self.view.model() is not model:
                self.view.setModel(model)
            if self.proxy.sourceModel() is not None:
                self.proxy.setSourceModel(None)

    # -- live feeding ------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self.pause_button.isChecked()

    def add_rows(self, rows: Sequence[TraceRecord]) -> None:
        """Called once per tick with everything that arrived since the last tick."""
        if self.paused:
            self._held.extend(rows)
            if len(self._held) > self.model.capacity:
                del self._held[:len(self._held) - self.model.capacity]
            self.show_status()
            return
        self.model.append_batch(rows)
        if rows and self.follow_button.isChecked() and not self.history:
            self.view.scrollToBottom()
        self._status_dirty = True
        self.flush_status()

    def flush_status(self) -> None:
        """Show the row count when it changed, at most every STATUS_REFRESH_S (it need not
        repaint on every tick while thousands of calls stream in)."""
        if self._status_dirty and time.monotonic() - self._status_shown >= STATUS_REFRESH_S:
            self.show_status()

    def set_paused(self, paused: bool) -> None:
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
            return
        if not paused and self._held:
            held, self._held = self._held, []
            self.add_rows(held)
        self.show_status()

    def clear(self) -> None:
        self._held.clear()
        self.model.clear()
        self.show_status()

    def set_glance(self, text: str) -> None:
        """One line of activity at a glance (empty hides it)."""
        self.glance.setText(text)
        if self.glance.isVisibleTo(self) != bool(text):
            self.glance.setVisible(bool(text))

    # -- history -----------------------------------------------------------------------------
    def time_range(self) -> tuple[float, float | None]:
        """(since, until) of the chosen range; until None = up to now."""
        seconds = self.range_combo.currentData()
        if seconds:
            return time.time() - seconds, None
        since = self.since_edit.dateTime().toSecsSinceEpoch()
        until = self.until_edit.dateTime().toSecsSinceEpoch() + 60  # the shown minute is included
        return float(since), float(until)

    def _range_changed(self) -> None:
        if self.range_combo.currentData() == 0:
            now = QDateTime.currentDateTime()
            for edit, value in ((self.since_edit, now.addDays(-1)), (self.until_edit, now)):
                edit.blockSignals(True)
                edit.setDateTime(value)
                edit.blockSignals(False)
        self._show_mode_controls()
        if self.history:
            self.load_history()

    def _custom_edited(self) -> None:
        if self.history and self.range_combo.currentData() == 0:
            self.load_history()

    def load_history(self) -> bool:
        """Read the chosen range from the audit log (the newest HISTORY_LIMIT rows of it)."""
        source = self.history_source
        if source is None:
            self._history_note = "History is not available here."
            self.show_status()
            return False
        since, until = self.time_range()
        self.status.setText("Loading history…")
        self.status.repaint()  # the read below holds the UI thread for a moment: say so first
        try:
            records = source(HISTORY_LIMIT, since=since, until=until)
        except Exception as exc:  # a locked or damaged database: say it, keep the window
            log.exception("reading the audit history failed")
            self._history_note = f"Could not read the history: {exc}"
            self.history_model.set_rows([])
            self.show_status()
            return False
        # oldest first by time: the log is in the order rows were written, and writers (the window, the
        # CLI, a previous session) need not agree on that
        self.history_model.set_rows(sorted(records, key=lambda r: r.time))
        self.history_loaded = True
        span = f"between {when(since)} and {when(until) if until else 'now'}"
        if not records:
            self._history_note = f"No calls recorded {span}."
        elif len(records) >= HISTORY_LIMIT:
            self._history_note = (f"the newest {len(records):,} calls {span}; narrow the range to see older "
                                  "ones")
        else:
            self._history_note = f"{len(records):,} calls {span}"
        self._attach()
        self.view.scrollToBottom()
        self.show_status()
        return True

    # -- filters and status ------------------------------------------------------------------
    def _refilter(self, **filters: str) -> None:
        self.proxy.set_filters(**filters)
        self._attach()
        self.show_status()

    def shown_rows(self) -> list[TraceRecord]:
        """The rows the table shows, oldest first (filters applied)."""
        model = self.active_model()
        if not self.proxy.active or self.proxy.sourceModel() is not model:
            return model.rows()
        return [model.row(self.proxy.mapToSource(self.proxy.index(n, 0)).row())
                for n in range(self.proxy.rowCount())]

    def show_status(self) -> None:
        if self.history:
            text = self._history_note
            if self.proxy.active and self.history_model.rowCount():
                text = f"{self.proxy.rowCount():,} shown of " + text
            self.status.setText(text)
            self._status_shown = time.monotonic()
            self._status_dirty = False
            return
        total = self.model.rowCount()
        if total == 0 and not self._held:
            text = "No hook calls yet — fire an event from Try it, or wait for plugins to be called"
        else:
            shown = self.proxy.rowCount()
            noun = "call" if total == 1 else "calls"
            text = f"{shown:,} of {total:,} {noun}" if self.proxy.active else f"{total:,} {noun}"
        if self.paused:
            text += f" — paused, {len(self._held):,} waiting"
        self.status.setText(text)
        self._status_shown = time.monotonic()
        self._status_dirty = False

    # -- export ----------------------------------------------------------------------------
    def ask_export(self) -> None:
        name = "hook-history.jsonl" if self.history else "hook-log.jsonl"
        dialog = QFileDialog(self, "Export hook history" if self.history else "Export hook log",
                             str(Path.home() / name), "JSON Lines (*.jsonl);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda path: self.export_jsonl(Path(path)))
        self.export_dialog = dialog
        dialog.open()

    def export_jsonl(self, path: Path) -> int:
        """Write the shown rows (filters applied), oldest first, one JSON object per line."""
        n = 0
        try:
            with path.open("w", encoding="utf-8") as out:
                for row in self.shown_rows():
                    out.write(json.dumps(row.to_json()) + "\n")
                    n += 1
        except OSError as exc:
            self.status.setText(f"Could not export to {path}: {exc.strerror or exc}")
            return 0
        self.status.setText(f"Exported {n:,} calls to {path}")
        return n
