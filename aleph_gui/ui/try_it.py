"""Try it: call one of the plugin's tools (its MCP servers' tools included) with JSON arguments, run its
other entry points (try_entry.py), or fire a test event through the chain.

Arguments are checked against the tool's JSON schema while you type; calls go through the
manager on the qasync loop, so a slow or hung plugin never freezes the window.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from aleph_gui.core.errors import AlephError
from aleph_gui.core.hook_events import HookEvent
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.json_schema import argument_errors
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.ui import theme
from aleph_gui.ui.hook_log_model import format_duration
from aleph_gui.ui.icons import icon
from aleph_gui.ui.try_entry import EntryPointBox

log = logging.getLogger(__name__)

Tool = tuple[str, str, "dict[str, Any] | None"]


def example_arguments(schema: dict[str, Any] | None) -> dict[str, Any]:
    """A starting point for the editor: every required property with a value of its type."""
    if not schema:
        return {}
    samples = {"string": "hello world", "integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}
    props = schema.get("properties") or {}
    out: dict[str, Any] = {}
    for name in schema.get("required") or list(props)[:3]:
        spec = props.get(name) or {}
        if "default" in spec:
            out[name] = spec["default"]
        elif spec.get("enum"):
            out[name] = spec["enum"][0]
        else:
            kind = spec.get("type", "string")
            out[name] = samples.get(kind if isinstance(kind, str) else "string", "")
    return out


def _json_editor(parent: QWidget, name: str) -> QPlainTextEdit:
    editor = QPlainTextEdit(parent)
    editor.setAccessibleName(name)
    editor.setTabChangesFocus(True)  # keep Tab for moving between controls
    theme.monospace(editor)
    return editor


class TryItPanel(QWidget):
    tool_finished = Signal(bool)   # ok
    event_finished = Signal(str)   # decision

    def __init__(self, manager: ExtensionManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.info: PluginInfo | None = None
        self.busy = False
        # the tools of the plugin's MCP servers listed so far, and where to keep newly listed ones
        self.known_mcp_tools: Callable[[str], list[Any]] = lambda _plugin: []
        self.remember_mcp_tools: Callable[[str, str, list[Any]], None] = lambda _p, _s, _t: None

        # -- tool ------------------------------------------------------------------------------
        tool_box = QGroupBox("Call a tool", self)
        self.tool_combo = QComboBox(tool_box)
        self.tool_combo.setAccessibleName("Tool to call")
        self.tool_description = QLabel(tool_box)
        self.tool_description.setWordWrap(True)
        self.args_edit = _json_editor(tool_box, "Tool arguments as JSON")
        self.args_edit.setPlaceholderText('{"text": "hello"}')
        self.args_status = QLabel(tool_box)
        self.args_status.setWordWrap(True)
        self.args_status.setAccessibleName("Argument check")
        self.mcp_button = QPushButton("List &MCP tools", tool_box)
        self.mcp_button.setAccessibleName("Start the plugin's MCP servers and list their tools")
        self.mcp_button.setToolTip("Starts the plugin's MCP servers (in its sandbox) so their tools can be called")
        self.run_button = QPushButton(icon("run"), "&Run tool", tool_box)
        self.run_button.setAccessibleName("Run the tool with these arguments")
        self.run_button.setToolTip("Run the tool (Ctrl+Return)")
        self.result_label = QLabel(tool_box)
        self.result_label.setAccessibleName("Tool call outcome")
        self.result_label.setWordWrap(True)
        self.result_edit = _json_editor(tool_box, "Tool result")
        self.result_edit.setReadOnly(True)
        self.result_edit.setPlaceholderText("The result appears here.")
        tool_row = QHBoxLayout()
        tool_row.addWidget(self.tool_combo, 1)
        tool_row.addWidget(self.mcp_button)
        tool_label = QLabel("&Tool:", tool_box)
        tool_label.setBuddy(self.tool_combo)
        form = QFormLayout()
        form.addRow(tool_label, tool_row)
        form.addRow("", self.tool_description)
        tool_layout = QVBoxLayout(tool_box)
        tool_layout.addLayout(form)
        tool_layout.addWidget(QLabel("Arguments (JSON):", tool_box))
        tool_layout.addWidget(self.args_edit, 2)
        row = QHBoxLayout()
        row.addWidget(self.args_status, 1)
        row.addWidget(self.run_button)
        tool_layout.addLayout(row)
        tool_layout.addWidget(self.result_label)
        tool_layout.addWidget(self.result_edit, 2)

        # -- event -----------------------------------------------------------------------------
        event_box = QGroupBox("Fire a test event", self)
        event_box.setToolTip("Runs the event through every plugin's hooks, in order")
        self.event_combo = QComboBox(event_box)
        self.event_combo.setEditable(True)
        self.event_combo.setAccessibleName("Event to fire")
        self.event_combo.addItems(sorted(e.value for e in HookEvent))
        self.event_combo.setCurrentText(HookEvent.MESSAGE_RECEIVED.value)
        self.payload_edit = _json_editor(event_box, "Event payload as JSON")
        self.payload_edit.setPlainText('{"text": "hello from Try it"}')
        self.fire_button = QPushButton(icon("fire"), "&Fire event", event_box)
        self.fire_button.setAccessibleName("Fire the event through the hook chain")
        self.event_label = QLabel(event_box)
        self.event_label.setAccessibleName("Event outcome")
        self.event_label.setWordWrap(True)
        self.trace = QTreeWidget(event_box)
        self.trace.setAccessibleName("Each handler's decision")
        self.trace.setRootIsDecorated(False)
        self.trace.setHeaderLabels(["#", "Plugin", "Handler", "Decision", "Duration", "Detail"])
        self.trace.header().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 28), (1, 150), (2, 90), (3, 80), (4, 70)):
            self.trace.header().resizeSection(col, width)
        event_form = QFormLayout()
        event_form.addRow("&Event:", self.event_combo)
        event_layout = QVBoxLayout(event_box)
        event_layout.addLayout(event_form)
        event_layout.addWidget(QLabel("Payload (JSON):", event_box))
        event_layout.addWidget(self.payload_edit, 1)
        fire_row = QHBoxLayout()
        fire_row.addWidget(self.event_label, 1)
        fire_row.addWidget(self.fire_button)
        event_layout.addLayout(fire_row)
        event_layout.addWidget(self.trace, 2)

        self.entry = EntryPointBox(manager, self)
        # a tool, or the plugin's other entry points: one at a time, each with the column's full height
        self.left = QTabWidget(self)
        self.left.setDocumentMode(True)
        self.left.setAccessibleName("What to try")
        self.left.addTab(tool_box, "Tool")
        self.left.addTab(self.entry, "Provider, channel, route, command")
        self.left.setTabToolTip(1, "Ask a provider, send through a channel, call an HTTP route, run a CLI entry "
                                   "or a chat command")
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.left)
        split.addWidget(event_box)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split)

        self.tool_combo.currentIndexChanged.connect(self._tool_changed)
        self.args_edit.textChanged.connect(self.check_arguments)
        self.run_button.clicked.connect(self.run_tool)
        self.mcp_button.clicked.connect(self._list_mcp_clicked)
        self.fire_button.clicked.connect(self.fire_event)
        QShortcut(QKeySequence("Ctrl+Return"), self.args_edit, self.run_button.click)
        QShortcut(QKeySequence("Ctrl+Return"), self.payload_edit, self.fire_button.click)
        self.set_plugin(None)

    # -- plugin ----------------------------------------------------------------------------------
    def _tools(self) -> list[Tool]:
        info = self.info
        if info is None:
            return []
        tools: dict[str, Tool] = {}
        for cap in info.manifest.of_type("tool") if info.manifest else []:
            tools[cap.name] = (cap.name, cap.description, cap.parameters)
        for cap in info.capabilities:  # tools registered by running code
            if cap.get("type") == "tool" and cap.get("name") not in tools:
                tools[cap["name"]] = (cap["name"], cap.get("description", ""), None)
        for name, description, schema in self.known_mcp_tools(info.id):
            tools.setdefault(name, (name, description, schema))
        return list(tools.values())

    def show_entry_points(self) -> bool:
        """Bring the provider / channel / route / command form forward (False: the plugin has none)."""
        if self.entry.combo.count() == 0:
            return False
        self.left.setCurrentWidget(self.entry)
        return True

    def has_mcp_servers(self) -> bool:
        return bool(self.info and self.info.manifest and self.info.manifest.of_type("mcp_server"))

    def select_tool(self, name: str) -> bool:
        """Refresh the tool list (newly listed MCP tools included) and pick `name`."""
        self.set_plugin(self.info)
        n = self.tool_combo.findText(name)
        if n >= 0:
            self.tool_combo.setCurrentIndex(n)
            self.left.setCurrentIndex(0)
        return n >= 0

    @asyncSlot()
    async def _list_mcp_clicked(self) -> None:
        await self.list_mcp_tools()

    async def list_mcp_tools(self) -> bool:
        """Every tool of the plugin, its MCP servers started to list theirs (`manager.tools`)."""
        info = self.info
        if info is None:
            return False
        self.mcp_button.setEnabled(False)
        self._say(self.tool_description, "Starting the MCP servers and listing their tools…", "palette(window-text)")
        try:
            specs = await self.manager.tools(info.id)
        except AlephError as exc:
            self._say(self.tool_description, f"✖ {exc}", theme.ERROR_RED)
            self._refresh_runnable()
            return False
        by_server: dict[str, list[Any]] = {}
        for spec in specs:
            if spec.source.startswith("mcp:"):
                by_server.setdefault(spec.source[4:], []).append((spec.name, spec.description,
                                                                  dict(spec.input_schema)))
        for server, tools in by_server.items():
            self.remember_mcp_tools(info.id, server, tools)
        current = self.tool_combo.currentText()
        if current:
            self.select_tool(current)  # rebuilds the list, newly listed tools included
        else:
            self.set_plugin(self.info)
        count = sum(len(t) for t in by_server.values())
        self._say(self.tool_description, f"✔ {count} MCP tool{'s' if count != 1 else ''} listed.", theme.OK_GREEN)
        return True

    def set_plugin(self, info: PluginInfo | None) -> None:
        same = info is not None and self.info is not None and info.id == self.info.id
        old_tool = self.tool_combo.currentData()
        self.info = info
        self.entry.set_plugin(info)
        self.left.setTabVisible(1, self.entry.combo.count() > 0)
        tools = self._tools()
        self.tool_combo.blockSignals(True)
        self.tool_combo.clear()
        for name, description, schema in tools:
            self.tool_combo.addItem(name, (name, description, schema))
        self.tool_combo.blockSignals(False)
        if same and old_tool is not None:
            n = self.tool_combo.findText(old_tool[0])
            if n >= 0:
                self.tool_combo.setCurrentIndex(n)
                self._refresh_runnable()
                return
        if not tools:
            self.tool_description.setText(
                "Select a plugin first." if info is None else
                "Its MCP servers' tools are listed once the servers start: press List MCP tools."
                if self.has_mcp_servers() else "This plugin has no tools.")
            self.tool_description.setStyleSheet("")
            self.args_edit.setPlainText("")
            self.args_edit.setEnabled(False)
        else:
            self.args_edit.setEnabled(True)
            self._tool_changed(0)
        self.result_label.setText("")
        self.result_edit.setPlainText("")
        self._refresh_runnable()

    def _tool_changed(self, _index: int) -> None:
        data = self.tool_combo.currentData()
        if not data:
            return
        _name, description, schema = data
        self.tool_description.setText(description or "")
        self.args_edit.setPlainText(json.dumps(example_arguments(schema), indent=2))
        self.check_arguments()

    # -- validation ------------------------------------------------------------------------------
    def parsed_arguments(self) -> tuple[dict[str, Any] | None, list[str]]:
        """(arguments, problems): problems are JSON syntax or schema mismatches, one sentence each."""
        text = self.args_edit.toPlainText().strip() or "{}"
        try:
            args = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, [f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
        if not isinstance(args, dict):
            return None, ["the arguments must be a JSON object, like {\"text\": \"hi\"}"]
        data = self.tool_combo.currentData()
        schema = data[2] if data else None
        return args, argument_errors(schema, args) if schema else []

    def check_arguments(self) -> bool:
        if self.tool_combo.currentData() is None:
            self.args_status.setText("")
            return False
        _args, problems = self.parsed_arguments()
        if problems:
            self._say(self.args_status, "✖ " + "; ".join(problems[:3]), theme.ERROR_RED)
        else:
            self._say(self.args_status, "✔ arguments match the tool's schema", theme.OK_GREEN)
        self._refresh_runnable()
        return not problems

    def _refresh_runnable(self) -> None:
        has_tool = self.tool_combo.currentData() is not None
        ok = has_tool and not self.parsed_arguments()[1]
        runnable = self.info is not None and self.info.runnable
        self.run_button.setEnabled(bool(ok and not self.busy and runnable))
        if has_tool and self.info is not None and not runnable:
            self.run_button.setToolTip(f"{self.info.name}: {theme.state_word(self.info.state).lower()} — "
                                       f"{self.info.runnable_reason}")
        else:
            self.run_button.setToolTip("Run the tool (Ctrl+Return)")
        self.fire_button.setEnabled(not self.busy)
        self.mcp_button.setVisible(self.has_mcp_servers())
        self.mcp_button.setEnabled(runnable and not self.busy)

    @staticmethod
    def _say(label: QLabel, text: str, color: str) -> None:
        label.setText(text)
        label.setStyleSheet(f"color: {color};")

    # -- running ---------------------------------------------------------------------------------
    @asyncSlot()
    async def run_tool(self) -> None:
        await self.call_tool()

    async def call_tool(self) -> bool:
        info, data = self.info, self.tool_combo.currentData()
        if info is None or data is None:
            return False
        args, problems = self.parsed_arguments()
        if problems or args is None:
            self._say(self.result_label, "✖ Fix the arguments first: " + "; ".join(problems[:3]), theme.ERROR_RED)
            return False
        self.busy = True
        self._refresh_runnable()
        self._say(self.result_label, f"Running {data[0]}…", "palette(window-text)")
        started = time.perf_counter()
        ok = False
        try:
            result = await self.manager.call_tool(info.id, data[0], args, client="window")
        except AlephError as exc:
            took = (time.perf_counter() - started) * 1000
            self._say(self.result_label, f"✖ Failed after {took:.1f} ms: {exc}", theme.ERROR_RED)
            self.result_edit.setPlainText("")
        except Exception as exc:  # never let a plugin's surprise take the window down
            log.exception("tool call failed")
            took = (time.perf_counter() - started) * 1000
            self._say(self.result_label, f"✖ Failed after {took:.1f} ms: unexpected {type(exc).__name__}: {exc}",
                      theme.ERROR_RED)
        else:
            took = (time.perf_counter() - started) * 1000
            ok = True
            self._say(self.result_label, f"✔ {data[0]} returned in {took:.1f} ms", theme.OK_GREEN)
            text = result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False)
            self.result_edit.setPlainText(text)
        finally:
            self.busy = False
            self._refresh_runnable()
        self.tool_finished.emit(ok)
        return ok

    @asyncSlot()
    async def fire_event(self) -> None:
        await self.fire()

    async def fire(self) -> str | None:
        event = self.event_combo.currentText().strip()
        text = self.payload_edit.toPlainText().strip() or "{}"
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            self._say(self.event_label, f"✖ The payload is not valid JSON: {exc.msg} (line {exc.lineno})",
                      theme.ERROR_RED)
            return None
        if not isinstance(payload, dict) or not event:
            self._say(self.event_label, "✖ Pick an event and give a JSON object as payload", theme.ERROR_RED)
            return None
        self.busy = True
        self._refresh_runnable()
        self.trace.clear()
        try:
            result = await self.manager.fire(event, payload, client="window")
        except Exception as exc:  # the executor never raises for handlers; this is a core bug
            log.exception("firing %s failed", event)
            self._say(self.event_label, f"✖ Could not fire {event}: {exc}", theme.ERROR_RED)
            return None
        finally:
            self.busy = False
            self._refresh_runnable()
        for n, rec in enumerate(result.trace, 1):
            detail = rec.error or (("changed: " + ", ".join(rec.modified_keys)) if rec.modified_keys else "")
            item = QTreeWidgetItem([str(n), rec.plugin, rec.handler, theme.DECISION_WORDS.get(rec.decision,
                                    rec.decision), format_duration(rec.duration_us), detail])
            item.setIcon(3, icon(rec.decision))
            if rec.decision == "block":
                for col in range(6):
                    item.setBackground(col, QColor(theme.BLOCK_ROW_DARK if theme.is_dark() else theme.BLOCK_ROW_LIGHT))
            self.trace.addTopLevelItem(item)
        handlers = len(result.trace)
        if handlers == 0:
            self._say(self.event_label, f"No plugin listens to {event}: the event passes unchanged.",
                      "palette(window-text)")
        elif result.decision == "block":
            self._say(self.event_label, f"⛔ Blocked: {result.reason or 'no reason given'}", theme.ERROR_RED)
        else:
            word = "changed by a plugin" if result.decision == "intercept" else "passes unchanged"
            self._say(self.event_label, f"✔ {result.decision.capitalize()} — {handlers} handler(s); the event "
                      f"{word}.", theme.OK_GREEN)
        self.event_finished.emit(result.decision)
        return result.decision
