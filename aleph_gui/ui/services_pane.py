"""The Services tab: each background service of the plugin with its state and since when, Start / Stop,
and the plugin's recent log lines (its services log there).

The runtime reports a service's state, not when it changed: "since" is when this window saw the
state change (the window observes every plugin that changes, not only the one shown), which is exact
for everything the window hosts; a state it found at start-up has no "since".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from aleph_gui.core.errors import AlephError
from aleph_gui.core.events import PluginLog
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.ui import theme
from aleph_gui.ui.details import LogTab, add_note
from aleph_gui.ui.icons import icon

log = logging.getLogger(__name__)

LOG_LINES = 300


class ServicesPane(QWidget):
    changed = Signal(str)  # plugin id, after a start or stop finished

    def __init__(self, manager: ExtensionManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.info: PluginInfo | None = None
        self.busy = ""  # the service being started / stopped
        self._seen: dict[tuple[str, str], tuple[str, float | None]] = {}  # (plugin, service) -> (state, since)

        self.process = QLabel(self)
        self.process.setWordWrap(True)
        self.process.setAccessibleName("Plugin process")
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName("Services")
        self.tree.setHeaderLabels(["Service", "State", "Since", "Description"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 120), (1, 100), (2, 80)):
            self.tree.header().resizeSection(col, width)
        self.tree.setToolTip("Enter starts a stopped service and stops a running one")
        self.start_button = QPushButton(icon("run"), "&Start", self)
        self.start_button.setAccessibleName("Start the selected service")
        self.stop_button = QPushButton(icon("block"), "St&op", self)
        self.stop_button.setAccessibleName("Stop the selected service")
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("Service action outcome")
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setAccessibleName("Recent log lines of the plugin")
        self.log.setPlaceholderText("Nothing logged yet. What the plugin and its services log appears here.")
        theme.monospace(self.log)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.process)
        top_layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addWidget(self.outcome, 1)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        top_layout.addLayout(row)
        bottom = QWidget(self)
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(QLabel("Recent log lines:", bottom))
        bottom_layout.addWidget(self.log, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        self.tree.currentItemChanged.connect(lambda *_: self._refresh_buttons())
        self.tree.itemActivated.connect(lambda item, _col: self._toggle(item))
        self.start_button.clicked.connect(self._start_clicked)
        self.stop_button.clicked.connect(self._stop_clicked)
        self.set_plugin(None)

    # -- showing ---------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """What the table shows: name, state, since (for tests and assistive tech)."""
        out = []
        for n in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(n)
            data = item.data(0, Qt.ItemDataRole.UserRole)
            if data:
                out.append({"name": data[0], "state": data[1], "since": item.text(2)})
        return out

    def observe(self, plugin_id: str, services: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Note each service's state and when it changed (called for every plugin that changed)."""
        if services is None:
            try:
                services = self.manager.services(plugin_id)
            except AlephError:
                return []
        first = not any(key[0] == plugin_id for key in self._seen)
        now = time.time()
        for svc in services:
            state = "crashed" if svc["plugin_state"] == "crashed" else str(svc["state"])
            key = (plugin_id, str(svc["name"]))
            seen = self._seen.get(key)
            if seen is None or seen[0] != state:
                self._seen[key] = (state, None if seen is None and first else now)
        return services

    def set_plugin(self, info: PluginInfo | None, logs: Sequence[PluginLog] | None = None) -> None:
        changed = info is None or self.info is None or info.id != self.info.id
        self.info = info
        selected = self.selected()
        self.tree.clear()
        if info is None:
            self.process.setText("Select a plugin to see its services.")
            self.log.clear()
            self._refresh_buttons()
            return
        if changed:
            self.outcome.setText("")
            self.log.setPlainText("\n".join(LogTab.line(e) for e in (logs or [])[-LOG_LINES:]))
        self.process.setText(self._process_text(info))
        try:
            services = self.manager.services(info.id)
        except AlephError as exc:
            add_note(self.tree, f"⚠ {exc.message}")
            self._refresh_buttons()
            return
        descriptions = {c.name: c.description for c in info.manifest.of_type("service")} if info.manifest else {}
        self.observe(info.id, services)
        for svc in services:
            state, changed_at = self._seen[(info.id, str(svc["name"]))]
            word, icon_name, color = theme.PROCESS_STATES.get(state, (state.capitalize(), "", theme.MUTED_GREY))
            since = datetime.fromtimestamp(changed_at).strftime("%H:%M:%S") if changed_at else "—"
            item = QTreeWidgetItem([svc["name"], word, since, descriptions.get(svc["name"], "")])
            item.setIcon(1, icon(icon_name))
            item.setForeground(1, QColor(color))
            item.setToolTip(2, f"{word} since {datetime.fromtimestamp(changed_at).strftime('%Y-%m-%d %H:%M:%S')} "
                               "(when this window saw it change)" if changed_at else
                            f"{word} when this window started")
            item.setData(0, Qt.ItemDataRole.UserRole, (svc["name"], state))
            self.tree.addTopLevelItem(item)
            if svc["name"] == selected:
                self.tree.setCurrentItem(item)
        if not services:
            add_note(self.tree, "This plugin declares no services. A service is a background task a plugin runs until "
                           "it is stopped (for example a clock or a file watcher).")
        elif self.tree.currentItem() is None:
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._refresh_buttons()

    @staticmethod
    def _process_text(info: PluginInfo) -> str:
        rt = info.runtime
        if not info.runnable:
            return (f"{theme.state_word(info.state)}: its services cannot run now — "
                    f"{info.runnable_reason or info.state_reason}.")
        if not rt:
            return "Its code is not loaded; starting a service loads it."
        parts = []
        if rt.get("crashed"):
            parts.append(f"crashed: {rt['crashed']}")
        elif rt.get("running"):
            parts.append("process running" + (f" (pid {rt['pid']})" if rt.get("pid") else ""))
        else:
            parts.append("process not running: it starts when a service or a tool needs it")
        if "restarts" in rt:
            parts.append(f"{rt['restarts']} restart{'s' if rt['restarts'] != 1 else ''}")
        if rt.get("crashes"):
            parts.append(f"{rt['crashes']} crash{'es' if rt['crashes'] != 1 else ''}")
        return "Plugin: " + " · ".join(parts)

    def append_logs(self, entries: Sequence[PluginLog]) -> None:
        for entry in entries:
            self.log.appendPlainText(LogTab.line(entry))

    def _selected_data(self) -> tuple[str, str] | None:
        """(name, state) of the selected service."""
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def selected(self) -> str | None:
        data = self._selected_data()
        return data[0] if data else None

    def _selected_state(self) -> str:
        data = self._selected_data()
        return data[1] if data else ""

    def _refresh_buttons(self) -> None:
        info, name, state = self.info, self.selected(), self._selected_state()
        can = info is not None and info.runnable and name is not None and not self.busy
        self.start_button.setEnabled(can and state not in ("running", "starting"))
        self.stop_button.setEnabled(can and state in ("running", "starting"))
        if info is not None and not info.runnable and name is not None:
            tip = f"{info.name} cannot run now: {info.runnable_reason or info.state_reason}"
            self.start_button.setToolTip(tip)
        else:
            self.start_button.setToolTip("Start the selected service (Alt+S, or Enter in the list)")

    # -- acting ----------------------------------------------------------------------------------
    def _toggle(self, item: QTreeWidgetItem) -> None:
        data = item.data(0, Qt.ItemDataRole.UserRole)
        if not data:
            return
        button = self.stop_button if data[1] in ("running", "starting") else self.start_button
        if button.isEnabled():
            button.click()

    @asyncSlot()
    async def _start_clicked(self) -> None:
        name = self.selected()
        if name:
            await self.act(name, start=True)

    @asyncSlot()
    async def _stop_clicked(self) -> None:
        name = self.selected()
        if name:
            await self.act(name, start=False)

    async def act(self, name: str, *, start: bool) -> bool:
        """Start or stop one service; the outcome is one line under the list."""
        info = self.info
        if info is None or self.busy:
            return False
        verb = "Starting" if start else "Stopping"
        self.busy = name
        self._refresh_buttons()
        self.outcome.setStyleSheet("")
        self.outcome.setText(f"{verb} {name}…")
        ok = False
        try:
            if start:
                await self.manager.start_service(info.id, name)
            else:
                await self.manager.stop_service(info.id, name)
            ok = True
        except AlephError as exc:
            self.outcome.setStyleSheet(theme.ERROR_STYLE)
            self.outcome.setText(f"✖ Could not {'start' if start else 'stop'} {name}: {exc.message}")
        except Exception as exc:  # a runtime bug must not close the window
            log.exception("service action failed")
            self.outcome.setStyleSheet(theme.ERROR_STYLE)
            self.outcome.setText(f"✖ Could not {'start' if start else 'stop'} {name}: unexpected "
                                 f"{type(exc).__name__}: {exc}")
        finally:
            self.busy = ""
        if ok:
            self.outcome.setText(f"✔ {name} {'started' if start else 'stopped'}.")
        if self.info is not None and self.info.id == info.id:
            try:
                fresh = self.manager.plugin(info.id)
            except AlephError:
                fresh = info
            self.set_plugin(fresh)
        self.changed.emit(info.id)
        return ok
