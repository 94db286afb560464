"""The hook log's data: a ring of the last 100,000 handler calls (`HookLogModel`), its filter proxy, and
the per-plugin call rate of the last minute.

Hook events can arrive at thousands per second, so rows are appended in one `beginInsertRows`
batch per tick (the main window's tick), and the oldest rows fall off the front in one
`beginRemoveRows` batch. Storage is a list plus a head offset so row lookups stay O(1).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from aleph_gui.core.trace import TraceRecord
from aleph_gui.ui import theme
from aleph_gui.ui.icons import icon
from aleph_gui.ui.proxy import change_filter

Index = QModelIndex | QPersistentModelIndex
RING_CAPACITY = 100_000
COLUMNS = ("Time", "Event", "Plugin", "Decision", "Duration", "Detail")
COL_TIME, COL_EVENT, COL_PLUGIN, COL_DECISION, COL_DURATION, COL_DETAIL = range(6)
DECISIONS = ("continue", "intercept", "block", "skipped")
RATE_WINDOW_S = 60
DISPLAY, DECORATION, TOOLTIP, FONT, ALIGNMENT, BACKGROUND = (
    int(r.value) for r in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole,
                           Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole, Qt.ItemDataRole.BackgroundRole))
_ROLES = frozenset({DISPLAY, DECORATION, TOOLTIP, FONT, ALIGNMENT, BACKGROUND})
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)


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


def clock_text(at: float, fmt: str) -> str:
    """`at` as local time with milliseconds. Not datetime.strftime: it imports a module on every call,
    which PySide's import hook makes cost a third of a log repaint."""
    return f"{time.strftime(fmt, time.localtime(at))}.{int(at % 1 * 1000):03d}"


def format_duration(us: int) -> str:
    return f"{us} µs" if us < 1000 else f"{us / 1000:.1f} ms"


class HookLogModel(QAbstractTableModel):
    def __init__(self, capacity: int = RING_CAPACITY, parent: Any = None, with_date: bool = False) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._time_format = "%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S"
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

    def data(self, index: Index, role: int = DISPLAY) -> Any:
        # Called for every visible cell and role on each repaint, ten times a second while calls stream:
        # plain int roles, no enum lookups and no datetime keep a repaint of the log short.
        if role not in _ROLES:
            return None
        try:
            r = self._rows[self._head + index.row()]
        except IndexError:
            return None
        col = index.column()
        if role == DISPLAY or role == TOOLTIP:
            if col == COL_TIME:
                return clock_text(r.time, self._time_format)
            if col == COL_EVENT:
                return r.event
            if col == COL_PLUGIN:
                return r.plugin
            if col == COL_DECISION:
                word = theme.DECISION_WORDS.get(r.decision, r.decision)
                return f"{word} (error)" if r.error and role == DISPLAY else word
            if col == COL_DURATION:
                return format_duration(r.duration_ns // 1000)
            if col == COL_DETAIL:
                return detail(r)
            return None
        if role == DECORATION:
            return icon("error" if r.error and r.decision != "block" else r.decision) if col == COL_DECISION else None
        if role == BACKGROUND:
            if r.decision == "block":
                return self._block_brush
            if r.decision == "intercept":
                return self._intercept_brush
            return None
        if role == FONT:
            return self._bold if r.decision == "block" else None
        return _RIGHT if col == COL_DURATION else None  # ALIGNMENT

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
        self.set_rows([])

    def set_rows(self, rows: Sequence[TraceRecord]) -> None:
        """Replace every row (the history view shows one query's answer at a time)."""
        self.beginResetModel()
        self._rows = list(rows[-self.capacity:])
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

    def add_many(self, records: Sequence[TraceRecord]) -> None:
        for r in records:
            self.add(r.plugin, r.time)

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


