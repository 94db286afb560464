"""Permission review: one dialog per plugin, and one notification bar for all pending reviews.

The dialog shows what the plugin asks for in plain language, highest risk first, the diff
against what was granted before, and which permissions the sandbox enforces vs. only declares.
It never blocks: it is opened with `open()` and reports the user's choice through signals.
"""

from __future__ import annotations

import html
import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.review import Enforcement, enforcement
from aleph_gui.core.scope import RISK_ORDER, Permission, ScopeDiff, diff_scopes
from aleph_gui.ui import theme
from aleph_gui.ui.banner import banner_layout
from aleph_gui.ui.icons import app_icon, icon

log = logging.getLogger(__name__)

CHANGE_ORDER = {"added": 0, "unchanged": 1, "removed": 2}
CHANGE_WORDS = {"added": "New", "unchanged": "Approved before", "removed": "No longer asked"}


def review_rows(diff: ScopeDiff) -> list[tuple[str, Permission]]:
    """(change, permission) sorted by risk (highest first), then new before already approved."""
    rows = [("added", p) for p in diff.added] + [("unchanged", p) for p in diff.unchanged] + \
           [("removed", p) for p in diff.removed]
    rows.sort(key=lambda r: (RISK_ORDER[r[1].risk], CHANGE_ORDER[r[0]], r[1].key))
    return rows


class ReviewDialog(QDialog):
    """Approve / Deny the scope a plugin requests. `decided(plugin_id, approved)` is emitted once."""

    decided = Signal(str, bool)

    def __init__(self, info: PluginInfo, diff: ScopeDiff | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info = info
        self.diff = diff or diff_scopes(info.grant.scope if info.grant else None, info.requested)
        self.is_update = info.grant is not None and bool(self.diff.added)
        self.setWindowTitle(f"Review permissions — {info.name}")
        self.setWindowIcon(app_icon())
        self.setAccessibleName(f"Permission review for {info.name}")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.resize(720, 480)

        manifest = info.manifest
        publisher = manifest.author if manifest and manifest.author else "not stated in the manifest"
        title = QLabel(f"<h3>{html.escape(info.name)} <span style='font-weight:normal'>"
                       f"{html.escape(info.version)}</span></h3>", self)
        facts = QLabel(
            f"<b>Id:</b> {html.escape(info.id)} &nbsp; <b>Publisher:</b> {html.escape(publisher)} &nbsp; "
            f"<b>Kind:</b> {html.escape(theme.kind_word(info.kind))} &nbsp; "
            f"<b>From:</b> {html.escape(theme.ORIGIN_WORDS.get(info.origin, info.origin))}<br>"
            f"<b>Folder:</b> {html.escape(str(info.path))}", self)
        facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        facts.setWordWrap(True)
        if self.is_update:
            intro = ("An update of this plugin asks for more than you approved. The version you approved "
                     "keeps running until you decide; Deny keeps it that way.")
        else:
            intro = "Nothing of this plugin runs until you approve what it asks for. Deny turns it off."
        self.intro = QLabel(intro, self)
        self.intro.setWordWrap(True)

        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Requested permissions")
        self.tree.setRootIsDecorated(False)
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["Risk", "Change", "Permission", "Sandbox"])
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 90)
        header.resizeSection(1, 130)
        header.resizeSection(3, 230)
        unenforced = 0
        for change, perm in review_rows(self.diff):
            how, label = enforcement(info.kind, perm.key)
            enforced = how is Enforcement.ENFORCED
            unenforced += not enforced and change != "removed"
            item = QTreeWidgetItem([theme.RISK_WORDS[perm.risk], CHANGE_WORDS[change], perm.text,
                                    ("✔ " if enforced else "⚠ ") + label])
            item.setForeground(0, QColor(theme.RISK_COLORS[perm.risk]))
            item.setIcon(0, icon({"high": "error", "medium": "warning"}.get(perm.risk, "enabled")))
            if change == "added":
                font = item.font(2)
                font.setBold(True)
                item.setFont(2, font)
                item.setFont(1, font)
            elif change == "removed":
                font = item.font(2)
                font.setStrikeOut(True)
                item.setFont(2, font)
            item.setToolTip(2, perm.key)
            item.setData(0, Qt.ItemDataRole.UserRole, (change, perm.key, enforced))
            self.tree.addTopLevelItem(item)
        self.summary = QLabel(self._summary(unenforced), self)
        self.summary.setWordWrap(True)

        self.buttons = QDialogButtonBox(self)
        self.approve_button = QPushButton(icon("enabled"), "&Approve", self)
        self.approve_button.setAccessibleName("Approve these permissions")
        self.deny_button = QPushButton(icon("block"), "&Deny", self)
        self.deny_button.setAccessibleName("Deny these permissions")
        self.later_button = QPushButton("Decide &later", self)
        self.later_button.setAccessibleName("Close and decide later")
        for b in (self.approve_button, self.deny_button, self.later_button):
            b.setAutoDefault(False)  # Enter must never approve by accident
        self.buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.deny_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.buttons.addButton(self.later_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.approve_button.clicked.connect(lambda: self._decide(True))
        self.deny_button.clicked.connect(lambda: self._decide(False))
        self.later_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(facts)
        layout.addWidget(self.intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)
        self.tree.setFocus()

    def _summary(self, unenforced: int) -> str:
        added = len(self.diff.added)
        parts = [f"{added} new permission{'s' if added != 1 else ''} to approve." if added else
                 "Nothing new to approve."]
        if unenforced:
            parts.append(f"{unenforced} permission{'s are' if unenforced != 1 else ' is'} only declared: "
                         "the sandbox cannot enforce it, so you are trusting the plugin.")
        else:
            parts.append("Everything listed is enforced by the sandbox.")
        return " ".join(parts)

    def rows(self) -> list[tuple[str, str, bool]]:
        """(change, permission key, enforced) as shown, top to bottom (for tests and a11y)."""
        return [self.tree.topLevelItem(n).data(0, Qt.ItemDataRole.UserRole)
                for n in range(self.tree.topLevelItemCount())]

    def _decide(self, approved: bool) -> None:
        self.decided.emit(self.info.id, approved)
        if approved:
            self.accept()
        else:
            self.reject()


class ReviewBar(QFrame):
    """One bar for every pending review ("2 plugins need review"), instead of a dialog each."""

    review_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reviewBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#reviewBar { background: #fff3d6; border: 1px solid #d9891a; border-radius: 4px; }"
                           "#reviewBar QLabel { color: #4a3000; }")
        self.pending: list[tuple[str, str]] = []  # (id, name)
        self.icon_label = QLabel(self)
        self.icon_label.setPixmap(icon("needs_review").pixmap(20, 20))
        self.label = QLabel(self)
        self.label.setAccessibleName("Pending permission reviews")
        self.button = QPushButton(icon("review"), "Review…", self)
        self.button.setAccessibleName("Review the next plugin's permissions")
        self.button.setToolTip("Review the next plugin (Ctrl+R)")
        self.button.clicked.connect(self._review_next)
        banner_layout(self, self.icon_label, self.label, self.button)
        self.hide()

    def set_pending(self, pending: list[tuple[str, str]]) -> None:
        self.pending = list(pending)
        n = len(self.pending)
        if n == 0:
            self.hide()
            return
        names = ", ".join(name for _, name in self.pending[:3]) + (" …" if n > 3 else "")
        self.label.setText(f"<b>{n} plugin{'s need' if n != 1 else ' needs'} review</b> — {html.escape(names)}. "
                           "They do not run until you approve.")
        self.show()

    def text(self) -> str:
        return self.label.text()

    def _review_next(self) -> None:
        if self.pending:
            self.review_requested.emit(self.pending[0][0])
