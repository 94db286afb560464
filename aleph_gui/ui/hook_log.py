"""The live hook log: a ring of the last 100,000 handler calls, fed in batches per timer tick.

Hook events can arrive at thousands per second, so rows are appended in one `beginInsertRows`
batch per tick (the main window's tick), and the oldest rows fall off the front in one
`beginRemoveRows` batch. Storage is a list plus a head offset so row lookups stay O(1).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
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
from aleph_gui.ui.icons import icon
from aleph_gui.ui.proxy import change_filter

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
RING_CAPACITY = 100_000
COLUMNS = ("Time", "Event", "Plugin", "Decision", "Duration", "Detail")
COL_TIME, COL_EVENT, COL_PLUGIN, COL_DECISION, COL_DURATION, COL_DETAIL = range(6)
DECISIONS = ("continue", "intercept", "block", "skipped")
RATE_WINDOW_S = 60
STATUS_REFRESH_S = 0.5


def detail(r: TraceRecord) -> str:
    """The Detail column: handler, error, changed keys, and who asked."""
    parts = [f"{r.handler}()"] if r.handler else []
    if r.error:
        parts.append(f"error: {r.error}")
    if r.modified_keys:
        parts.append("changed: " + ", ".join(r.modified_keys))
    if r.client:
        parts.append(f"from {r.client}")
    return "  ".join(parts)


def format_duration(us: int) -> str:
    return f"{us} µs" if us < 1000 else f"{us / 1000:.1f} ms"


class HookLogModel(QAbstractTableModel):
    def __init__(self, capacity: int = RING_CAPACITY, parent: Any = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._rows: list[TraceRecord] = []
        self._head = 0  # index in _rows of logical row 0
        self._bold = QFont()
        self._bold.setBold(True)
        self._block_brush = QBrush(QColor(theme.BLOCK_ROW_LIGHT))
        self._intercept_brush = QBrush(QColor(theme.INTERCEPT_ROW_LIGHT))
        self.set_dark(theme.is_dark())

    def set_dark(self, dark: bool) -> None:
        self._block_brush = QBrush(QColor(theme.BLOCK_ROW_DARK if dark else theme.BLOCK_ROW_LIGHT))
        self._intercept_brush = QBrush(QColor(theme.INTERCEPT_ROW_DARK if dark else theme.INTERCEPT_ROW_LIGHT))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows) - self._head

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def row(self, n: int) -> TraceRecord:
        return self._rows[self._head + n]

    def rows(self) -> list[TraceRecord]:
        return self._rows[self._head:]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        n = index.row()
        if not 0 <= n < len(self._rows) - self._head:
            return None
        r = self._rows[self._head + n]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_TIME:
                return datetime.fromtimestamp(r.time).strftime("%H:%M:%S.%f")[:-3]
            if col == COL_EVENT:
                return r.event
            if col == COL_PLUGIN:
                return r.plugin
            if col == COL_DECISION:
                word = theme.DECISION_WORDS.get(r.decision, r.decision)
                return f"{word} (error)" if r.error and role == Qt.ItemDataRole.DisplayRole else word
            if col == COL_DURATION:
                return format_duration(r.duration_us)
            if col == COL_DETAIL:
                return detail(r)
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_DECISION:
            return icon("error" if r.error and r.decision != "block" else r.decision)
        if role == Qt.ItemDataRole.BackgroundRole:
            if r.decision == "block":
                return self._block_brush
            if r.decision == "intercept":
                return self._intercept_brush
            return None
        if role == Qt.ItemDataRole.FontRole and r.decision == "block":
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole and col == COL_DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def append_batch(self, batch: Sequence[TraceRecord]) -> None:
        """Add rows at the end in one insert; drop the oldest in one remove when over capacity."""
        if not batch:
            return
        if len(batch) > self.capacity:
            batch = batch[-self.capacity:]
        count = len(self._rows) - self._head
        overflow = count + len(batch) - self.capacity
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            self._head += overflow
            self.endRemoveRows()
            count -= overflow
        self.beginInsertRows(QModelIndex(), count, count + len(batch) - 1)
        self._rows.extend(batch)
        self.endInsertRows()
        if self._head >= self.capacity:  # compact: logical rows are unchanged, so no signal
            del self._rows[:self._head]
            self._head = 0

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self._head = 0
        self.endResetModel()


class HookLogFilter(QSortFilterProxyModel):
    """Filters by event (substring), plugin (substring) and decision (exact, or 'error')."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.event_text = ""
        self.plugin_text = ""
        self.decision_value = ""

    def set_filters(self, event: str | None = None, plugin: str | None = None,
                    decision: str | None = None) -> None:
        def apply() -> None:
            if event is not None:
                self.event_text = event.strip().lower()
            if plugin is not None:
                self.plugin_text = plugin.strip().lower()
            if decision is not None:
                self.decision_value = decision

        change_filter(self, apply)

    @property
    def active(self) -> bool:
        return bool(self.event_text or self.plugin_text or self.decision_value)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not (self.event_text or self.plugin_text or self.decision_value):
            return True
        model = self.sourceModel()
        assert isinstance(model, HookLogModel)
        r = model.row(source_row)
        if self.event_text and self.event_text not in r.event.lower():
            return False
        if self.plugin_text and self.plugin_text not in r.plugin.lower():
            return False
        if self.decision_value == "error":
            return bool(r.error)
        return not self.decision_value or r.decision == self.decision_value


class HookRate:
    """Hook calls per plugin over the last minute, counted in one-second buckets."""

    def __init__(self, window_s: int = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._buckets: dict[str, dict[int, int]] = {}

    def add(self, plugin: str, when: float) -> None:
        buckets = self._buckets.setdefault(plugin, {})
        second = int(when)
        buckets[second] = buckets.get(second, 0) + 1

    def counts(self, now: float | None = None) -> dict[str, int]:
        oldest = int(now if now is not None else time.time()) - self.window_s
        out: dict[str, int] = {}
        for plugin, buckets in list(self._buckets.items()):
            for second in [s for s in buckets if s <= oldest]:
                del buckets[second]
            if buckets:
                out[plugin] = sum(buckets.values())
            else:
                del self._buckets[plugin]
        return out


class HookLogPanel(QWidget):
    """The dock's content: filters, pause / follow / clear / export, and the table."""

    def __init__(self, parent: QWidget | None = None, capacity: int = RING_CAPACITY) -> None:
        super().__init__(parent)
        self.model = HookLogModel(capacity, self)
        # The filter proxy is attached only while a filter is set: attached, it runs Python for
        # every streamed row, which is most of the UI thread's work at thousands of calls a second.
        self.proxy = HookLogFilter(self)
        self._held: list[TraceRecord] = []  # rows that arrived while paused
        self._status_shown = 0.0
        self._status_dirty = False
        self.export_dialog: QFileDialog | None = None

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
        self.export_button = self._tool("export", "Export…", "Export the shown calls as JSON Lines")
        self.status = QLabel("No hook calls yet", self)
        self.status.setAccessibleName("Hook log status")

        self.view = QTableView(self)
        self.view.setModel(self.model)
        self.view.setAccessibleName("Hook log")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAlternatingRowColors(False)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(True)
        for col, width in ((COL_TIME, 100), (COL_EVENT, 150), (COL_PLUGIN, 170), (COL_DECISION, 110),
                           (COL_DURATION, 80)):
            header.resizeSection(col, width)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        for w in (self.event_filter, self.plugin_filter, self.decision_filter, self.pause_button,
                  self.follow_button, self.clear_button, self.export_button):
            bar.addWidget(w)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.view)

        self.event_filter.textChanged.connect(lambda t: self._refilter(event=t))
        self.plugin_filter.textChanged.connect(lambda t: self._refilter(plugin=t))
        self.decision_filter.currentIndexChanged.connect(
            lambda _n: self._refilter(decision=self.decision_filter.currentData()))
        self.pause_button.toggled.connect(self.set_paused)
        self.follow_button.toggled.connect(lambda on: on and self.view.scrollToBottom())
        self.clear_button.clicked.connect(self.clear)
        self.export_button.clicked.connect(self.ask_export)

    def _tool(self, icon_name: str, text: str, tip: str, checkable: bool = False) -> QToolButton:
        b = QToolButton(self)
        b.setIcon(icon(icon_name))
        b.setText(text)
        b.setToolTip(tip)
        b.setAccessibleName(tip)
        b.setCheckable(checkable)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return b

    # -- feeding ---------------------------------------------------------------------------
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
        if rows and self.follow_button.isChecked():
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

    def _refilter(self, **filters: str) -> None:
        self.proxy.set_filters(**filters)
        if self.proxy.active and self.proxy.sourceModel() is None:
            self.proxy.setSourceModel(self.model)
            self.view.setModel(self.proxy)
        elif not self.proxy.active and self.proxy.sourceModel() is not None:
            self.view.setModel(self.model)
            self.proxy.setSourceModel(None)
        self.show_status()

    def shown_rows(self) -> list[TraceRecord]:
        """The rows the table shows, oldest first (filters applied)."""
        if not self.proxy.active or self.proxy.sourceModel() is None:
            return self.model.rows()
        return [self.model.row(self.proxy.mapToSource(self.proxy.index(n, 0)).row())
                for n in range(self.proxy.rowCount())]

    def show_status(self) -> None:
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
        dialog = QFileDialog(self, "Export hook log", str(Path.home() / "hook-log.jsonl"),
                             "JSON Lines (*.jsonl);;All files (*)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda path: self.export_jsonl(Path(path)))
        self.export_dialog = dialog
        dialog.open()

    def export_jsonl(self, path: Path) -> int:
        """Write the shown rows (filters applied), oldest first, one JSON object per line."""
        n = 0
        with path.open("w", encoding="utf-8") as out:
            for row in self.shown_rows():
                out.write(json.dumps(row.to_json()) + "\n")
                n += 1
        self.status.setText(f"Exported {n:,} calls to {path}")
        return n
