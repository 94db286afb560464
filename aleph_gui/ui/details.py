"""The details pane: Overview, Capabilities, Permissions, Settings, Services, MCP servers, Hooks, Log,
Problems and Try it tabs.

Every tab renders a `PluginInfo` snapshot the main window hands over; buttons only emit signals
(the main window turns them into manager calls).
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.core.events import PluginLog
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manifest.model import CAPABILITY_TYPES
from aleph_gui.core.review import Enforcement
from aleph_gui.core.trace import TraceRecord
from aleph_gui.ui import theme
from aleph_gui.ui.icons import icon
from aleph_gui.ui.overview import WARN_COLOR, OverviewTab

log = logging.getLogger(__name__)

TAB_NAMES = ("Overview", "Capabilities", "Permissions", "Settings", "Services", "MCP servers", "Hooks", "Log",
             "Problems", "Try it")
KIND_TITLES = {
    "tool": "Tools", "hook": "Hooks", "channel": "Channels", "provider": "Providers", "http_route": "HTTP routes",
    "cli": "CLI commands", "service": "Services", "command": "Commands", "skill": "Skills", "agent": "Agents",
    "mcp_server": "MCP servers",
}
LOG_LINES_SHOWN = 2000


def _tree(parent: QWidget, name: str, headers: Sequence[str], stretch: int) -> QTreeWidget:
    tree = QTreeWidget(parent)
    tree.setAccessibleName(name)
    tree.setColumnCount(len(headers))
    tree.setHeaderLabels(list(headers))
    tree.setAlternatingRowColors(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    tree.header().setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    tree.header().setStretchLastSection(False)
    return tree


def _empty_item(text: str, columns: int) -> QTreeWidgetItem:
    item = QTreeWidgetItem([text] + [""] * (columns - 1))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
    item.setForeground(0, QColor(theme.MUTED_GREY))
    return item


def add_note(tree: QTreeWidget, text: str) -> QTreeWidgetItem:
    """A grey row across the whole tree that says why it lists nothing (or what went wrong)."""
    item = _empty_item(text, tree.columnCount())
    tree.addTopLevelItem(item)
    item.setFirstColumnSpanned(True)  # only works once the item is in the tree
    item.setToolTip(0, text)
    return item


class CapabilitiesTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree(self, "Capabilities", ["Name", "Description", "Status"], 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)

    def show_plugin(self, info: PluginInfo) -> None:
        self.tree.clear()
        caps = _capabilities(info)
        conflicts = {(c.kind, c.name): c for c in info.conflicts}
        registered = bool(info.capabilities)
        for kind in CAPABILITY_TYPES:
            mine = [c for c in caps if c["type"] == kind]
            if not mine:
                continue
            group = QTreeWidgetItem([f"{KIND_TITLES[kind]} ({len(mine)})", "", ""])
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.tree.addTopLevelItem(group)
            for cap in mine:
                name = cap.get("event") if kind == "hook" else cap.get("name", "")
                conflict = conflicts.get((kind, name or ""))
                status = "registered" if registered else "declared (not loaded)"
                if cap.get("source") == "runtime":
                    status = "registered by its code"
                item = QTreeWidgetItem([name or "", cap.get("description", ""), status])
                if conflict is not None:
                    item.setIcon(0, icon("warning"))
                    other = conflict.loser if conflict.winner == info.id else conflict.winner
                    if kind == "http_route":  # each plugin answers under its own prefix: nothing is lost
                        item.setText(2, f"also declared by '{other}' (each under its own prefix)")
                    else:
                        item.setText(2, "conflict: " + ("keeps the name" if conflict.winner == info.id else
                                                        f"'{conflict.winner}' keeps the name"))
                    item.setToolTip(2, conflict.sentence())
                item.setToolTip(1, cap.get("description", ""))
                group.addChild(item)
            group.setExpanded(True)
        if self.tree.topLevelItemCount() == 0:
            self.tree.addTopLevelItem(_empty_item("This plugin provides nothing that could be read.", 3))
        self.tree.resizeColumnToContents(0)


def _capabilities(info: PluginInfo) -> list[dict[str, Any]]:
    if info.capabilities:
        return info.capabilities
    out = []
    for c in info.manifest.capabilities if info.manifest else []:
        key = "event" if c.type == "hook" else "name"
        out.append({"type": c.type, key: c.label, "description": c.description, "source": "manifest"})
    return out


SANDBOX_WORDS = {Enforcement.ENFORCED: "✔ enforced", Enforcement.NOT_ENFORCED: "⚠ not enforced",
                 Enforcement.RUNS_AS_YOU: "⚠ runs as you", Enforcement.DECLARED_ONLY: "⚠ declared only",
                 Enforcement.REFUSED: "✖ refused"}


class PermissionsTab(QWidget):
    review = Signal()
    revoke = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        # The permission's words get the room; the other columns hold one or two words each and the
        # full enforcement sentence is in the tooltip and the review dialog.
        self.tree = _tree(self, "Permissions", ["Permission", "Risk", "Sandbox", "Approval"], 0)
        self.tree.setRootIsDecorated(False)
        for col, width in ((1, 95), (2, 115), (3, 125)):
            self.tree.header().resizeSection(col, width)
        self.review_button = QPushButton(icon("review"), "&Review and approve…", self)
        self.review_button.setAccessibleName("Review and approve this plugin's permissions")
        self.revoke_button = QPushButton(icon("block"), "Re&voke approval", self)
        self.revoke_button.setAccessibleName("Revoke this plugin's approved permissions")
        self.review_button.clicked.connect(self.review)
        self.revoke_button.clicked.connect(self.revoke)
        buttons = QHBoxLayout()
        buttons.addWidget(self.review_button)
        buttons.addWidget(self.revoke_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

    def show_plugin(self, info: PluginInfo) -> None:
        self.tree.clear()
        builtin = info.origin == "builtin"
        for row in info.permissions:
            perm = row.permission
            approval = ("approved" if row.approved else "waiting for you") if row.requested else \
                "approved, no longer asked"
            item = QTreeWidgetItem([perm.text, theme.RISK_WORDS[perm.risk], SANDBOX_WORDS[row.enforcement], approval])
            item.setIcon(1, icon({"high": "error", "medium": "warning"}.get(perm.risk, "enabled")))
            item.setForeground(1, QColor(theme.RISK_COLORS[perm.risk]))
            item.setIcon(3, icon("enabled" if row.approved else "needs_review"))
            item.setToolTip(0, f"{perm.text} ({perm.key})")
            item.setToolTip(2, row.sentence)
            self.tree.addTopLevelItem(item)
        if builtin:
            text = "Built-in plugin: its permissions are approved with the app."
        elif info.state == "needs_review":
            text = "<b>Waiting for your approval.</b> Nothing new runs until you review these permissions."
        elif info.trust_folder:
            text = (f"<b>Its project folder {html.escape(info.trust_folder)} is not trusted.</b> Nothing of it runs "
                    "until you trust the folder; then review these permissions.")
        elif info.grant is not None:
            when = datetime.fromtimestamp(info.grant.granted_at).strftime("%Y-%m-%d %H:%M")
            text = f"Approved on {when}."
        elif info.needs_approval:
            text = "Not approved."
        else:
            text = "This plugin only writes to its own log; it needs no approval."
        if info.approval_note:
            text += f" <span style='color:{WARN_COLOR}'>⚠ {html.escape(info.approval_note)}.</span>"
        self.summary.setText(text)
        self.review_button.setEnabled(info.manifest is not None and info.needs_approval and not info.trust_folder)
        self.revoke_button.setEnabled(info.grant is not None and not builtin)


class HooksTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree(self, "Hooks", ["Event", "Priority", "Handler", "Kind", "Matcher", "Last decisions"], 5)
        self.tree.setRootIsDecorated(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)

    def show_plugin(self, info: PluginInfo, recent: Sequence[TraceRecord]) -> None:
        self.tree.clear()
        hooks = info.manifest.of_type("hook") if info.manifest else []
        decisions: dict[tuple[str, str], Counter[str]] = {}
        for row in recent:
            if row.plugin == info.id:
                decisions.setdefault((row.event, row.handler), Counter())[row.decision] += 1
        seen = set()
        for cap in sorted(hooks, key=lambda c: (c.priority, c.event)):
            key = (cap.event, cap.handler_name)
            seen.add(key)
            self.tree.addTopLevelItem(self._item(cap.event, str(cap.priority), cap.handler_name,
                                                 cap.hook_kind + (", fail closed" if cap.fail_closed else ""),
                                                 cap.matcher or "all", decisions.get(key)))
        for key, counts in decisions.items():  # hooks registered by running code (Node module shape)
            if key not in seen:
                self.tree.addTopLevelItem(self._item(key[0], "", key[1], "registered at run time", "", counts))
        if self.tree.topLevelItemCount() == 0:
            self.tree.addTopLevelItem(_empty_item("This plugin listens to no events.", 6))
        for col in range(5):
            self.tree.resizeColumnToContents(col)

    def _item(self, event: str, priority: str, handler: str, kind: str, matcher: str,
              counts: Counter[str] | None) -> QTreeWidgetItem:
        last = ", ".join(f"{theme.DECISION_WORDS.get(d, d)} ×{n}" for d, n in counts.most_common()) if counts \
            else "not called yet"
        item = QTreeWidgetItem([event, priority, handler, kind, matcher, last])
        if counts and counts.get("block"):
            item.setIcon(5, icon("block"))
        return item


class LogTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Plugin log")
        self.text.setMaximumBlockCount(LOG_LINES_SHOWN)
        self.text.setPlaceholderText("Nothing logged yet. The plugin's own log lines and its stderr appear here.")
        theme.monospace(self.text)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)

    @staticmethod
    def line(entry: PluginLog) -> str:
        when = datetime.fromtimestamp(entry.time).strftime("%H:%M:%S")
        return f"{when}  {entry.level.upper():<7} {entry.message}"

    def set_lines(self, entries: Sequence[PluginLog]) -> None:
        self.text.setPlainText("\n".join(self.line(e) for e in entries[-LOG_LINES_SHOWN:]))
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def append(self, entries: Sequence[PluginLog]) -> None:
        for entry in entries:
            self.text.appendPlainText(self.line(entry))


class ProblemsTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = _tree(self, "Problems", ["Severity", "File", "Field", "Message"], 3)
        self.tree.setRootIsDecorated(False)
        self.tree.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)

    def show_plugin(self, info: PluginInfo) -> None:
        self.tree.clear()
        for p in sorted(info.problems, key=lambda p: p.severity != "error"):
            item = QTreeWidgetItem([p.severity.capitalize(), p.file, p.field, p.message])
            item.setIcon(0, icon("error" if p.severity == "error" else "warning"))
            item.setToolTip(3, p.message)
            self.tree.addTopLevelItem(item)
        for c in info.conflicts:
            item = QTreeWidgetItem(["Conflict", "", f"{c.kind} {c.name}", c.sentence()])
            item.setIcon(0, icon("warning"))
            self.tree.addTopLevelItem(item)
        if info.state in ("failed", "crashed") and info.state_reason and \
                not any(p.message == info.state_reason for p in info.problems):
            item = QTreeWidgetItem([theme.state_word(info.state), "", "runtime", info.state_reason])
            item.setIcon(0, icon(info.state))
            self.tree.addTopLevelItem(item)
        if self.tree.topLevelItemCount() == 0:
            self.tree.addTopLevelItem(_empty_item("No problems.", 4))
        for col in range(3):
            self.tree.resizeColumnToContents(col)

    def count(self) -> int:
        return sum(1 for n in range(self.tree.topLevelItemCount())
                   if self.tree.topLevelItem(n).flags() & Qt.ItemFlag.ItemIsSelectable)


class DetailsPane(QTabWidget):
    """Tabs for the selected plugin; an explanatory page when nothing is selected. The Settings, Services,
    MCP servers and Try it panes talk to the manager themselves; the others render snapshots."""

    def __init__(self, try_it: Any, settings: Any, services: Any, mcp: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Plugin details")
        self.setDocumentMode(True)
        self.setUsesScrollButtons(True)
        self.overview = OverviewTab(self)
        self.capabilities = CapabilitiesTab(self)
        self.permissions = PermissionsTab(self)
        self.settings = settings
        self.services = services
        self.mcp = mcp
        self.hooks = HooksTab(self)
        self.log_tab = LogTab(self)
        self.problems = ProblemsTab(self)
        self.try_it = try_it
        for widget, name in zip((self.overview, self.capabilities, self.permissions, self.settings, self.services,
                                 self.mcp, self.hooks, self.log_tab, self.problems, self.try_it), TAB_NAMES,
                                strict=True):
            self.addTab(widget, name)
        for n, name in enumerate(TAB_NAMES):
            self.setTabToolTip(n, f"{name} (Alt+{(n + 1) % 10})")
        self.plugin_id: str | None = None
        self.setEnabled(False)

    def select_tab(self, name: str) -> bool:
        wanted = name.strip().lower().replace("-", " ").replace("_", " ")
        for n in range(self.count()):
            if self.tabText(n).replace("&", "").split(" (")[0].lower() == wanted:
                self.setCurrentIndex(n)
                return True
        return False

    def show_plugin(self, info: PluginInfo | None, logs: Sequence[PluginLog] = (),
                    recent: Sequence[TraceRecord] = ()) -> None:
        if info is None:
            self.plugin_id = None
            self.overview.show_nothing()
            for pane in (self.settings, self.services, self.mcp):
                pane.set_plugin(None)
            self.setEnabled(False)
            return
        changed = info.id != self.plugin_id
        self.plugin_id = info.id
        self.setEnabled(True)
        self.overview.show_plugin(info)
        self.capabilities.show_plugin(info)
        self.permissions.show_plugin(info)
        self.settings.set_plugin(info)
        self.services.set_plugin(info, logs)
        self.mcp.set_plugin(info)
        self.hooks.show_plugin(info, recent)
        if changed:
            self.log_tab.set_lines(logs)
        self.problems.show_plugin(info)
        problems = len(info.problems) + len(info.conflicts)
        at = self.indexOf(self.problems)
        self.setTabText(at, f"Problems ({problems})" if problems else "Problems")
        self.setTabIcon(at, icon("error") if any(p.severity == "error" for p in info.problems) else
                        icon("warning") if problems else icon(""))

    def append_logs(self, entries: Sequence[PluginLog]) -> None:
        self.log_tab.append(entries)
        self.services.append_logs(entries)
