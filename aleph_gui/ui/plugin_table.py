"""The plugin table: one model row per discovered plugin, a token filter, and chip delegates.

Rows are `PluginInfo` snapshots handed over by the main window from manager events; the model
never asks the core for anything itself.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.scope import RISK_ORDER
from aleph_gui.ui import theme
from aleph_gui.ui.activity_chart import SPARK_ROLE
from aleph_gui.ui.icons import icon
from aleph_gui.ui.proxy import change_filter

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex

COLUMNS = ("Status", "Name", "Version", "Kind", "Origin", "Risk", "Problems", "Activity")
COL_STATUS, COL_NAME, COL_VERSION, COL_KIND, COL_ORIGIN, COL_RISK, COL_PROBLEMS, COL_ACTIVITY = range(8)

PLUGIN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
CHIP_COLOR_ROLE = Qt.ItemDataRole.UserRole + 3
ROW_KEY_ROLE = Qt.ItemDataRole.UserRole + 4

STATE_SORT = {s: n for n, s in enumerate(
    ("needs_review", "crashed", "failed", "invalid", "enabled", "disabled", "overridden"))}
ERROR_STATES = frozenset({"invalid", "failed", "crashed"})


def row_key(info: PluginInfo) -> tuple[str, str, str]:
    """Overridden copies share the id, so a row is (id, origin, path)."""
    return (info.id, info.origin, str(info.path))


@dataclass
class _Row:
    info: PluginInfo
    problems: int
    search: str  # lower-case text matched by free-text filter words
    scope_families: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, info: PluginInfo) -> _Row:
        manifest = info.manifest
        text = " ".join([info.id, info.name, manifest.description if manifest else "", info.version,
                         manifest.author if manifest else ""]).lower()
        families = {p.key.split(":", 1)[0] for p in info.requested.permissions() if p.key != "api:log"}
        names = {"net": "network", "file": "file", "shell": "shell", "api": "api"}
        errors = sum(1 for p in info.problems if p.severity == "error")
        warnings = len(info.problems) - errors
        return cls(info=info, problems=errors * 1000 + warnings, search=text,
                   scope_families=frozenset(names[f] for f in families if f in names))


class PluginTableModel(QAbstractTableModel):
    """Plugins as rows. `sync()` applies a fresh list with row inserts/removes/changes (no reset)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        self._index: dict[tuple[str, str, str], int] = {}
        self._hook_counts: dict[str, int] = {}
        self._sparks: dict[str, list[int]] = {}
        self._rows_by_id: dict[str, list[int]] = {}  # overridden copies share an id

    # -- Qt model API ---------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_ACTIVITY:
                return ("Calls of this plugin (hook handlers, tools, providers, …): per minute over the last hour "
                        "as bars, and how many in the last 60 seconds")
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        info, col = row.info, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == PLUGIN_ID_ROLE:
            return info.id
        if role == SPARK_ROLE and col == COL_ACTIVITY:
            return self._sparks.get(info.id)
        if role == ROW_KEY_ROLE:
            return row_key(info)
        if role == SORT_ROLE:
            return self._sort_value(row, col)
        if role == Qt.ItemDataRole.DecorationRole:
            if col == COL_STATUS:
                return icon(info.state)
            if col == COL_PROBLEMS and info.problems:
                return icon("error" if row.problems >= 1000 else "warning")
            return None
        if role == CHIP_COLOR_ROLE:
            if info.manifest is None:
                return None
            if col == COL_KIND:
                return theme.KIND_COLORS.get(info.kind, "#666666")
            if col == COL_RISK:
                return theme.RISK_COLORS.get(info.risk, "#666666")
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[col]}: {self._display(row, col)}"
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_PROBLEMS, COL_ACTIVITY):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.FontRole and col == COL_NAME:
            font = QFont()
            font.setBold(info.state == "needs_review")
            return font
        return None

    def _display(self, row: _Row, col: int) -> str:
        info = row.info
        if col == COL_STATUS:
            return theme.state_word(info.state)
        if col == COL_NAME:
            return info.name if info.name == info.id else f"{info.name}  ·  {info.id}"
        if col == COL_VERSION:
            return info.version
        if col == COL_KIND:
            return theme.kind_word(info.kind) if info.manifest else "—"
        if col == COL_ORIGIN:
            return theme.ORIGIN_WORDS.get(info.origin, info.origin)
        if col == COL_RISK:
            return theme.RISK_WORDS.get(info.risk, info.risk) if info.manifest else "—"
        if col == COL_PROBLEMS:
            return str(len(info.problems)) if info.problems else ""
        if col == COL_ACTIVITY:
            count = self._hook_counts.get(info.id, 0)
            return f"{count}/min" if count else ""
        return ""

    def _sort_value(self, row: _Row, col: int) -> Any:
        info = row.info
        if col == COL_STATUS:
            return STATE_SORT.get(info.state, 99)
        if col == COL_RISK:
            return RISK_ORDER.get(info.risk, 9)
        if col == COL_PROBLEMS:
            return row.problems
        if col == COL_ACTIVITY:  # busy now first, then busy over the hour
            return self._hook_counts.get(info.id, 0) * 100_000_000 + sum(self._sparks.get(info.id, ()))
        if col == COL_NAME:
            return info.name.lower()
        return self._display(row, col).lower()

    def _tooltip(self, row: _Row, col: int) -> str:
        info = row.info
        if col == COL_STATUS:
            return f"{theme.state_word(info.state)}: {info.state_reason}" if info.state_reason else \
                theme.state_word(info.state)
        if col == COL_PROBLEMS and info.problems:
            return "\n".join(p.sentence() for p in info.problems[:10])
        if col == COL_RISK:
            return "\n".join(f"{p.risk}: {p.text}" for p in info.requested.permissions())
        if col == COL_NAME:
            return str(info.path)
        if col == COL_ACTIVITY:
            series = self._sparks.get(info.id) or [0]
            now = self._hook_counts.get(info.id, 0)
            return (f"{now:,} calls in the last 60 seconds; {sum(series):,} in the last hour, busiest minute "
                    f"{max(series):,}" if any(series) or now else "No calls in the last hour")
        return self._display(row, col)

    # -- feeding --------------------------------------------------------------------------
    def plugin_at(self, row: int) -> PluginInfo | None:
        return self._rows[row].info if 0 <= row < len(self._rows) else None

    def row_of(self, plugin_id: str) -> int:
        """The row of the active plugin with this id (overridden copies are skipped), or -1."""
        for n, row in enumerate(self._rows):
            if row.info.id == plugin_id and row.info.state != "overridden":
                return n
        return -1

    def infos(self) -> list[PluginInfo]:
        return [r.info for r in self._rows]

    def sync(self, infos: Iterable[PluginInfo]) -> None:
        """Make the rows equal `infos`: remove gone rows, update changed ones, append new ones."""
        fresh = {row_key(i): i for i in infos}
        for n in range(len(self._rows) - 1, -1, -1):
            if row_key(self._rows[n].info) not in fresh:
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()
        self._reindex()
        new = [i for k, i in fresh.items() if k not in self._index]
        for key, info in fresh.items():
            if key in self._index:
                self._replace(self._index[key], info)
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._rows.extend(_Row.of(i) for i in new)
            self.endInsertRows()
            self._reindex()

    def update_plugin(self, info: PluginInfo) -> None:
        """One plugin changed: refresh its row (or add it when new)."""
        key = row_key(info)
        if key in self._index:
            self._replace(self._index[key], info)
        else:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self._rows.append(_Row.of(info))
            self.endInsertRows()
            self._reindex()

    def set_hook_counts(self, counts: dict[str, int]) -> None:
        """Calls in the last 60 seconds per plugin. Only rows whose count changed are signalled: a signal
        over every row makes the proxy re-filter and re-sort the whole table (1,000 plugins stall it)."""
        if counts == self._hook_counts:
            return
        changed = {pid for pid in counts.keys() | self._hook_counts.keys()
                   if counts.get(pid) != self._hook_counts.get(pid)}
        self._hook_counts = dict(counts)
        self._activity_changed(changed, [Qt.ItemDataRole.DisplayRole, SORT_ROLE])

    def set_sparklines(self, sparks: dict[str, list[int]]) -> None:
        """Calls per minute over the last hour per plugin; only rows whose series changed are signalled."""
        changed = {pid for pid in sparks.keys() | self._sparks.keys() if sparks.get(pid) != self._sparks.get(pid)}
        self._sparks = sparks
        self._activity_changed(changed, [SPARK_ROLE, SORT_ROLE, Qt.ItemDataRole.ToolTipRole])

    def _activity_changed(self, plugin_ids: set[str], roles: list[int]) -> None:
        for pid in plugin_ids:
            for n in self._rows_by_id.get(pid, ()):  # by id, not a walk over every row
                cell = self.index(n, COL_ACTIVITY)
                self.dataChanged.emit(cell, cell, roles)

    def _replace(self, n: int, info: PluginInfo) -> None:
        self._rows[n] = _Row.of(info)
        self.dataChanged.emit(self.index(n, 0), self.index(n, len(COLUMNS) - 1))

    def _reindex(self) -> None:
        self._index = {row_key(r.info): n for n, r in enumerate(self._rows)}
        self._rows_by_id = {}
        for n, r in enumerate(self._rows):
            self._rows_by_id.setdefault(r.info.id, []).append(n)

    def row_matches(self, n: int, query: FilterQuery) -> bool:
        return query.matches(self._rows[n])


KIND_ALIASES = {"node": "nodejs", "nodejs": "nodejs", "node.js": "nodejs", "js": "nodejs", "wasm": "wasm",
                "claude": "claude", "skills": "static", "skill": "static", "static": "static", "mcp": "mcp"}
STATE_TOKENS = {"@enabled": {"enabled"}, "@disabled": {"disabled"}, "@review": {"needs_review"},
                "@error": set(ERROR_STATES), "@overridden": {"overridden"}, "@failed": {"failed", "crashed"},
                "@invalid": {"invalid"}}
SCOPE_ALIASES = {"network": "network", "net": "network", "file": "file", "files": "file", "fs": "file",
                 "shell": "shell", "api": "api"}


@dataclass
class FilterQuery:
    """A parsed filter box: `@enabled kind:wasm origin:user scope:network some words`.

    Tokens of one kind are alternatives (OR); different kinds and free words must all hold (AND).
    Unknown `key:value` tokens are kept as free text, so searching for "a:b" still works.
    """

    states: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    origins: set[str] = field(default_factory=set)
    scopes: set[str] = field(default_factory=set)
    words: list[str] = field(default_factory=list)
    errors_only: bool = False

    @classmethod
    def parse(cls, text: str) -> FilterQuery:
        q = cls()
        try:
            parts = shlex.split(text)
        except ValueError:  # an unmatched quote while typing
            parts = text.split()
        for part in parts:
            low = part.lower()
            key, sep, value = low.partition(":")
            if low in STATE_TOKENS:
                q.states |= STATE_TOKENS[low]
                q.errors_only |= low == "@error"
            elif sep and key == "kind" and value:
                q.kinds.add(KIND_ALIASES.get(value, value))
            elif sep and key == "origin" and value:
                q.origins.add("builtin" if value in ("built-in", "builtin") else value)
            elif sep and key == "scope" and value:
                q.scopes.add(SCOPE_ALIASES.get(value, value))
            elif low:
                q.words.append(low)
        return q

    @property
    def empty(self) -> bool:
        return not (self.states or self.kinds or self.origins or self.scopes or self.words)

    def matches(self, row: _Row) -> bool:
        info = row.info
        if self.states:
            state_ok = info.state in self.states
            # @error also lists plugins whose manifest has error problems but still runs an old version
            if not state_ok and self.errors_only:
                state_ok = row.problems >= 1000
            if not state_ok:
                return False
        if self.kinds and info.kind not in self.kinds:
            return False
        if self.origins and info.origin not in self.origins:
            return False
        if self.scopes and not self.scopes <= row.scope_families:
            return False
        return all(w in row.search for w in self.words)


class PluginFilterProxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._query = FilterQuery()
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def set_filter_text(self, text: str) -> None:
        query = FilterQuery.parse(text)
        change_filter(self, lambda: setattr(self, "_query", query))

    @property
    def query(self) -> FilterQuery:
        return self._query

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if self._query.empty:
            return True
        model = self.sourceModel()
        assert isinstance(model, PluginTableModel)
        return model.row_matches(source_row, self._query)


class ChipDelegate(QStyledItemDelegate):
    """Draws the cell's word on a rounded coloured chip (kind badge, risk chip). The word stays
    readable without colour, and the chip keeps white-on-saturated contrast on both palettes."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        color = index.data(CHIP_COLOR_ROLE)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        if not color or not text:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(opt.font)
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.88))
        font.setBold(True)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 14
        height = min(opt.rect.height() - 6, metrics.height() + 4)
        rect = QRectF(opt.rect.x() + 4, opt.rect.center().y() - height / 2 + 0.5, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(color))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 18, max(size.height(), 24))
