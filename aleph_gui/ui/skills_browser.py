"""One browser over every skill, command and agent — from plugins and from the standalone skills
folders — with a filter, where each comes from, its collisions and problems, and its body rendered
as Markdown.

The list is read from the manager (`skills()`) only while the browser is visible and something
changed; a body is read when its entry is selected (progressive disclosure, as the core does).
"""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.core.skills import SkillEntry
from aleph_gui.ui import theme
from aleph_gui.ui.icons import icon
from aleph_gui.ui.proxy import change_filter

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Name", "Kind", "From", "Description")
COL_NAME, COL_KIND, COL_FROM, COL_DESCRIPTION = range(4)
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_WORDS = {"skill": "Skill", "command": "Command", "agent": "Agent"}
COLLISION_MARK = "is also provided by"


def origin_text(entry: SkillEntry, plugin_ids: set[str]) -> str:
    """"plugin <id>" or the folder it was found in (home shortened to ~)."""
    if entry.source in plugin_ids:
        return f"plugin {entry.source}"
    try:
        return "~/" + Path(entry.source).relative_to(Path.home()).as_posix()
    except ValueError:
        return entry.source


class SkillsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._entries: list[SkillEntry] = []
        self._origins: list[str] = []

    def set_entries(self, entries: list[SkillEntry], plugin_ids: set[str]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self._origins = [origin_text(e, plugin_ids) for e in self._entries]
        self.endResetModel()

    def entry(self, row: int) -> SkillEntry:
        return self._entries[row]

    def origin(self, entry: SkillEntry) -> str:
        for n, e in enumerate(self._entries):
            if e is entry:
                return self._origins[n]
        return entry.source

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e, col = self._entries[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if col == COL_NAME:
                return e.name
            if col == COL_KIND:
                return KIND_WORDS.get(e.kind, e.kind)
            if col == COL_FROM:
                return self._origins[index.row()]
            if col == COL_DESCRIPTION:
                return e.description if e.usable else "; ".join(p.message for p in e.problems[:2])
        if role == ENTRY_ROLE:
            return e
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            if not e.usable:
                return icon("error")
            if e.problems:
                return icon("warning")
        if role == Qt.ItemDataRole.ForegroundRole and not e.usable:
            return QColor("#7a7f87")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[col]}: {self.data(index)}"
        return None


class SkillsFilter(QSortFilterProxyModel):
    """Words match name, description and origin; the kind box narrows to skills, commands or agents."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []
        self.kind = ""
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_filter(self, text: str | None = None, kind: str | None = None) -> None:
        def apply() -> None:
            if text is not None:
                self.words = text.lower().split()
            if kind is not None:
                self.kind = kind

        change_filter(self, apply)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        assert isinstance(model, SkillsModel)
        e = model.entry(source_row)
        if self.kind and e.kind != self.kind:
            return False
        if not self.words:
            return True
        text = " ".join([e.name, e.description, e.source]).lower()
        return all(w in text for w in self.words)


class SkillsBrowser(QWidget):
    """`set_entries(entries, plugin_ids)` fills it; selecting a row shows the body."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = SkillsModel(self)
        self.proxy = SkillsFilter(self)
        self.proxy.setSourceModel(self.model)
        self._shown: SkillEntry | None = None
        self._body_task: asyncio.Future[None] | None = None

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter skills, commands and agents… (Enter goes to the list)")
        self.filter_edit.setAccessibleName("Filter skills, commands and agents")
        self.filter_edit.setClearButtonEnabled(True)
        self.kind_combo = QComboBox(self)
        self.kind_combo.setAccessibleName("Show only one kind")
        self.kind_combo.addItem("All kinds", "")
        for kind, word in KIND_WORDS.items():
            self.kind_combo.addItem(word + "s", kind)
        self.count = QLabel(self)
        self.count.setAccessibleName("Number of skills shown")

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Skills, commands and agents")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        self.table.setTabKeyNavigation(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_NAME, 190), (COL_KIND, 75), (COL_FROM, 150)):
            header.resizeSection(col, width)
        self.placeholder = QLabel(self)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setAccessibleName("Skills list status")
        self.list_stack = QStackedWidget(self)
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.placeholder)

        self.header = QLabel(self)
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.header.setAccessibleName("Selected entry")
        self.body = QTextBrowser(self)
        self.body.setAccessibleName("Body of the selected skill, command or agent")
        self.body.setOpenExternalLinks(True)
        self.body.setPlaceholderText("Select an entry to read it.")

        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.kind_combo)
        row.addWidget(self.count)
        left_layout.addLayout(row)
        left_layout.addWidget(self.list_stack, 1)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.header)
        right_layout.addWidget(self.body, 1)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)
        self.setTabOrder(self.filter_edit, self.kind_combo)
        self.setTabOrder(self.kind_combo, self.table)
        self.setTabOrder(self.table, self.body)

        self.filter_edit.textChanged.connect(lambda t: self._refilter(text=t))
        self.filter_edit.returnPressed.connect(self.table.setFocus)
        self.kind_combo.currentIndexChanged.connect(lambda _n: self._refilter(kind=self.kind_combo.currentData()))
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._current_changed())
        self.show_loading()

    # -- filling ---------------------------------------------------------------------------------
    def show_loading(self) -> None:
        self._placeholder("Reading skills, commands and agents…")

    def show_error(self, text: str) -> None:
        self._placeholder(f"⚠ Could not read the skills: {text}")

    def set_entries(self, entries: list[SkillEntry], plugin_ids: set[str]) -> None:
        current = self._shown.name if self._shown is not None else None
        self.model.set_entries(entries, plugin_ids)
        self._update_placeholder()
        if current and self.select(current):
            return
        if self.proxy.rowCount():
            self.table.selectRow(0)

    def _placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.list_stack.setCurrentWidget(self.placeholder)

    def _update_placeholder(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.count.setText(f"{shown} of {total}" if shown != total else f"{total} entries")
        if total == 0:
            self._placeholder("No skills, commands or agents yet. Plugins bring them, and so do the folders "
                              "~/.aleph/skills and <project>/.aleph/skills (one folder with a SKILL.md each).")
            self._show_entry(None)
        elif shown == 0:
            self._placeholder(f"Nothing matches “{self.filter_edit.text()}”.")
            self._show_entry(None)
        else:
            self.list_stack.setCurrentWidget(self.table)

    def _refilter(self, **what: str) -> None:
        self.proxy.set_filter(**what)
        self._update_placeholder()
        if self.proxy.rowCount() and not self.table.selectionModel().hasSelection():
            self.table.selectRow(0)

    def select(self, name: str) -> bool:
        for n in range(self.proxy.rowCount()):
            if self.proxy.index(n, COL_NAME).data() == name:
                self.table.selectRow(n)
                return True
        return False

    def names(self) -> list[str]:
        return [self.proxy.index(n, COL_NAME).data() for n in range(self.proxy.rowCount())]

    # -- the selected entry ------------------------------------------------------------------------
    def _current_changed(self) -> None:
        index = self.table.selectionModel().currentIndex()
        entry = index.data(ENTRY_ROLE) if index.isValid() else None
        self._show_entry(entry)

    def _show_entry(self, entry: SkillEntry | None) -> None:
        self._shown = entry
        if entry is None:
            self.header.setText("")
            self.body.clear()
            return
        e = html.escape
        facts = [f"<b>{e(entry.name)}</b> — {e(KIND_WORDS.get(entry.kind, entry.kind))} from "
                 f"{e(self.model.origin(entry))}"]
        meta = entry.to_json()
        if meta.get("allowed_tools"):
            facts.append(f"<b>Allowed tools:</b> {e(', '.join(meta['allowed_tools']))}")
        if meta.get("model"):
            facts.append(f"<b>Model:</b> {e(str(meta['model']))}")
        facts.append(f"<span style='color:palette(placeholder-text)'>{e(str(entry.path))}</span>")
        for problem in entry.problems:
            color = theme.ERROR_RED if problem.severity == "error" else theme.RISK_COLORS["medium"]
            word = "Collision" if COLLISION_MARK in problem.message else problem.severity.capitalize()
            facts.append(f"<span style='color:{color}'>⚠ <b>{word}:</b> {e(problem.message)}</span>")
        self.header.setText("<br>".join(facts))
        if not entry.usable:
            self.body.setPlainText("This entry is skipped: " + "; ".join(p.message for p in entry.problems))
            return
        self.body.setPlainText("Loading…")
        self._body_task = asyncio.ensure_future(self._load_body(entry))

    async def _load_body(self, entry: SkillEntry) -> None:
        try:
            text = await asyncio.to_thread(entry.body)  # a large file must not hold the window
        except OSError as exc:
            if self._shown is entry:
                self.body.setPlainText(f"Could not read {entry.path}: {exc.strerror or exc}")
            return
        if self._shown is entry:
            self.body.setMarkdown(text if text.strip() else "*This entry has no body.*")
