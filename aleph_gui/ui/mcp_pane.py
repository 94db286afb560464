"""The MCP servers tab: each server the plugin declares, the command it runs and whether that runs in the
sandbox, its state and error, and — once started with "List tools" — its tools with their input
schemas; "Try it" hands a tool to the Try it tab, which calls it like any other tool.

A server is started only when the user asks (List tools): looking at the tab never runs a program.
"""

from __future__ import annotations

import html
import json
import logging
import shlex
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
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.ui import theme
from aleph_gui.ui.details import add_note
from aleph_gui.ui.icons import icon

log = logging.getLogger(__name__)

Tool = tuple[str, str, dict[str, Any]]  # (name, description, input schema)


def declared_command(details: dict[str, Any]) -> str:
    """The command line as the manifest writes it (placeholders unexpanded), or the server's URL."""
    if details.get("url"):
        return str(details["url"])
    command = details.get("command")
    if not command:
        return "(no command)"
    args = details.get("args") or []
    return " ".join([str(command), *(shlex.quote(str(a)) for a in args)])


class McpPane(QWidget):
    """`try_tool(plugin_id, tool_name)` asks the window to open Try it on that tool."""

    try_tool = Signal(str, str)

    def __init__(self, manager: ExtensionManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.info: PluginInfo | None = None
        self.busy = False
        self._tools: dict[tuple[str, str], list[Tool]] = {}  # (plugin, server) -> tools listed this session

        self.servers = QTreeWidget(self)
        self.servers.setAccessibleName("MCP servers")
        self.servers.setHeaderLabels(["Server", "State", "Tools", "Command"])
        self.servers.setRootIsDecorated(False)
        self.servers.header().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 110), (1, 95), (2, 50)):
            self.servers.header().resizeSection(col, width)
        self.facts = QLabel(self)
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setAccessibleName("Selected server")
        self.list_button = QPushButton(icon("run"), "&List tools", self)
        self.list_button.setAccessibleName("Start the server and list its tools")
        self.list_button.setToolTip("Starts the server (in the plugin's sandbox) and asks it for its tools")
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("MCP server outcome")
        self.tools = QTreeWidget(self)
        self.tools.setAccessibleName("Tools of the selected server")
        self.tools.setHeaderLabels(["Tool", "Description"])
        self.tools.setRootIsDecorated(False)
        self.tools.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.tools.header().resizeSection(0, 140)
        self.tools.setToolTip("Enter opens the tool in Try it")
        self.schema = QPlainTextEdit(self)
        self.schema.setReadOnly(True)
        self.schema.setAccessibleName("Input schema of the selected tool")
        self.schema.setPlaceholderText("The selected tool's input schema appears here.")
        theme.monospace(self.schema)
        self.try_button = QPushButton(icon("run"), "Try &it…", self)
        self.try_button.setAccessibleName("Call the selected tool from Try it")

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.servers, 1)
        top_layout.addWidget(self.facts)
        row = QHBoxLayout()
        row.addWidget(self.outcome, 1)
        row.addWidget(self.list_button)
        top_layout.addLayout(row)
        tools_split = QSplitter(Qt.Orientation.Horizontal, self)
        tools_split.addWidget(self.tools)
        schema_box = QWidget(self)
        schema_layout = QVBoxLayout(schema_box)
        schema_layout.setContentsMargins(0, 0, 0, 0)
        schema_layout.addWidget(self.schema, 1)
        schema_layout.addWidget(self.try_button, 0, Qt.AlignmentFlag.AlignRight)
        tools_split.addWidget(schema_box)
        tools_split.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(tools_split)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        self.servers.currentItemChanged.connect(lambda *_: self._server_changed())
        self.tools.currentItemChanged.connect(lambda *_: self._tool_changed())
        self.tools.itemActivated.connect(lambda *_: self.try_button.click())
        self.list_button.clicked.connect(self._list_clicked)
        self.try_button.clicked.connect(self._try_clicked)
        self.set_plugin(None)

    # -- what other panes read ---------------------------------------------------------------------
    def known_tools(self, plugin_id: str) -> list[Tool]:
        """The tools of this plugin's servers listed so far (Try it offers them)."""
        return [t for (pid, _server), tools in sorted(self._tools.items()) if pid == plugin_id for t in tools]

    def remember(self, plugin_id: str, server: str, tools: list[Tool]) -> None:
        self._tools[(plugin_id, server)] = tools

    def rows(self) -> list[dict[str, str]]:
        out = []
        for n in range(self.servers.topLevelItemCount()):
            item = self.servers.topLevelItem(n)
            if item.data(0, Qt.ItemDataRole.UserRole):
                out.append({"name": item.text(0), "state": item.text(1), "tools": item.text(2),
                            "command": item.text(3)})
        return out

    # -- showing ---------------------------------------------------------------------------------
    def _declared(self, info: PluginInfo) -> dict[str, dict[str, Any]]:
        return {c.name: dict(c.details) for c in info.manifest.of_type("mcp_server")} if info.manifest else {}

    def set_plugin(self, info: PluginInfo | None) -> None:
        changed = info is None or self.info is None or info.id != self.info.id
        self.info = info
        current = self.current_server()
        self.servers.clear()
        if changed:
            self.outcome.setText("")
        if info is None:
            self.facts.setText("Select a plugin to see its MCP servers.")
            self._show_tools(None)
            return
        declared = self._declared(info)
        live = info.runtime.get("mcp", {}) if info.runtime else {}
        for name in dict.fromkeys([*declared, *live]):
            status = live.get(name) or {}
            details = declared.get(name, {})
            remote = bool(details.get("url")) and not details.get("command")
            state = "remote" if remote else str(status.get("state") or ("stopped" if info.runnable else "off"))
            word, icon_name, _ = theme.PROCESS_STATES.get(
                state, ({"remote": "Remote", "off": "Not running"}.get(state, state), "disabled", ""))
            listed = self._tools.get((info.id, name))
            count = str(len(listed)) if listed is not None else (str(status["tools"]) if status.get("tools") else "")
            command = str(status.get("command") or declared_command(details))
            item = QTreeWidgetItem([name, word, count, command])
            item.setIcon(1, icon(icon_name))
            item.setToolTip(3, command)
            if status.get("error"):
                item.setForeground(1, QColor(theme.ERROR_RED))
            item.setData(0, Qt.ItemDataRole.UserRole, {"name": name, "state": state, "details": details,
                                                        "status": status})
            self.servers.addTopLevelItem(item)
            if name == current:
                self.servers.setCurrentItem(item)
        if not self.servers.topLevelItemCount():
            add_note(self.servers, "This plugin declares no MCP servers.")
        elif self.servers.currentItem() is None:
            self.servers.setCurrentItem(self.servers.topLevelItem(0))
        self._server_changed()

    def current_server(self) -> str | None:
        data = self._server_data()
        return data["name"] if data else None

    def _server_data(self) -> dict[str, Any] | None:
        item = self.servers.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _server_changed(self) -> None:
        info, data = self.info, self._server_data()
        if info is None or data is None:
            self.facts.setText("" if info is None else "Plugins declare MCP servers in .mcp.json or as "
                                                       "mcp_server capabilities.")
            self.list_button.setEnabled(False)
            self._show_tools(None)
            return
        e = html.escape
        details, status = data["details"], data["status"]
        lines = [f"<b>Command:</b> <code>{e(str(status.get('command') or declared_command(details)))}</code>"]
        env = details.get("env") or {}
        if env:
            lines.append(f"<b>Environment:</b> {e(', '.join(sorted(env)))}")
        if data["state"] == "remote":
            lines.append("<b>Sandbox:</b> none — a remote server; this app lists and calls only servers it starts "
                         "itself (stdio).")
        elif status.get("sandbox"):
            lines.append(f"<b>Sandbox:</b> {e(str(status['sandbox']))}")
        else:
            lines.append("<b>Sandbox:</b> decided when the plugin loads — the Permissions tab says what "
                         "enforces its “runs programs” permission.")
        if status.get("error"):
            lines.append(f"<b style='color:{theme.ERROR_RED}'>Error:</b> {e(str(status['error']))}")
        if not info.runnable:
            lines.append(f"<i>Not running: {e(info.runnable_reason or info.state_reason)}</i>")
        self.facts.setText("<br>".join(lines))
        self.list_button.setEnabled(info.runnable and data["state"] != "remote" and not self.busy)
        self._show_tools(self._tools.get((info.id, data["name"])))

    def _show_tools(self, tools: list[Tool] | None) -> None:
        current = self.tools.currentItem().text(0) if self.tools.currentItem() else None
        self.tools.clear()
        if tools is None:
            hint = "Press List tools to start the server and see its tools." if self._server_data() else ""
            if hint:
                add_note(self.tools, hint)
        else:
            for name, description, schema in tools:
                item = QTreeWidgetItem([name, description])
                item.setToolTip(1, description)
                item.setData(0, Qt.ItemDataRole.UserRole, (name, description, schema))
                self.tools.addTopLevelItem(item)
                if name == current:
                    self.tools.setCurrentItem(item)
            if not tools:
                add_note(self.tools, "The server offers no tools.")
            elif self.tools.currentItem() is None:
                self.tools.setCurrentItem(self.tools.topLevelItem(0))
        self._tool_changed()

    def _tool_changed(self) -> None:
        item = self.tools.currentItem()
        data = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        self.schema.setPlainText(json.dumps(data[2], indent=2, ensure_ascii=False) if data else "")
        self.try_button.setEnabled(bool(data) and self.info is not None and self.info.runnable)

    def tool_names(self) -> list[str]:
        return [self.tools.topLevelItem(n).text(0) for n in range(self.tools.topLevelItemCount())
                if self.tools.topLevelItem(n).data(0, Qt.ItemDataRole.UserRole)]

    # -- acting ----------------------------------------------------------------------------------
    @asyncSlot()
    async def _list_clicked(self) -> None:
        server = self.current_server()
        if server:
            await self.list_tools(server)

    async def list_tools(self, server: str) -> bool:
        """Start the server (first use) and show its tools; errors become one line."""
        info = self.info
        if info is None or self.busy:
            return False
        self.busy = True
        self.list_button.setEnabled(False)
        self.outcome.setStyleSheet("")
        self.outcome.setText(f"Starting {server} and listing its tools…")
        ok = False
        try:
            listed = await self.manager.mcp_tools(info.id, server)
            self._tools[(info.id, server)] = [(t.name, t.description, dict(t.input_schema)) for t in listed]
            ok = True
            self.outcome.setText(f"✔ {server} offers {len(listed)} tool{'s' if len(listed) != 1 else ''}.")
        except AlephError as exc:
            self.outcome.setStyleSheet(theme.ERROR_STYLE)
            self.outcome.setText(f"✖ {exc.message}")
        except Exception as exc:  # a server's surprise must not close the window
            log.exception("listing MCP tools failed")
            self.outcome.setStyleSheet(theme.ERROR_STYLE)
            self.outcome.setText(f"✖ Could not list the tools of {server}: {type(exc).__name__}: {exc}")
        finally:
            self.busy = False
        if self.info is not None and self.info.id == info.id:
            try:
                self.set_plugin(self.manager.plugin(info.id))  # the server's state changed
            except AlephError:
                self._server_changed()
        return ok

    def _try_clicked(self) -> None:
        item = self.tools.currentItem()
        data = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if data and self.info is not None:
            self.try_tool.emit(self.info.id, data[0])
