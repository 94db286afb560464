""""Connect an agent": where agents reach this window's host, the config snippets to paste, and the installers.

Shows the host's endpoints (the socket; the HTTP URL and its bearer token, or "HTTP is off" with the switch to
turn it on — a QSettings-backed setting the window applies each time it starts), copyable snippets for Claude
Code, Claude Desktop, an MCP SDK client and curl, and buttons that run the Claude installers (a dry run shows the
diff first). The dialog is never modal and opens nothing modal itself.

It talks only to `HostEndpoints` (the host layer) and the installer functions of `gateways.claude_install`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.gateways import claude_install, snippets
from aleph_gui.gateways.claude_config import aleph_ext_command
from aleph_gui.gateways.json_settings import SettingsFileError
from aleph_gui.host.endpoints import HostEndpoints

log = logging.getLogger(__name__)

HTTP_ENABLED_KEY = "agents/http_enabled"
HTTP_PORT_KEY = "agents/http_port"
DEFAULT_PORT = 8741  # gateways.http_gateway.DEFAULT_PORT (that module loads uvicorn: not imported here)
SHORTCUT = "Ctrl+Shift+A"
SCOPES = (("user", "Claude Code — you, every project"), ("project", "Claude Code — this project, shared"),
          ("local", "Claude Code — this project, only you"), ("desktop", "Claude Desktop"))


def saved_http(settings: QSettings) -> tuple[bool, int]:
    """(HTTP on?, port) as the user last chose them."""
    on = bool(settings.value(HTTP_ENABLED_KEY, False, type=bool))
    port = settings.value(HTTP_PORT_KEY, DEFAULT_PORT, type=int)
    return on, port if isinstance(port, int) and 0 < port <= 65535 else DEFAULT_PORT


async def start_saved_http(settings: QSettings, endpoints: HostEndpoints, fallback_port: int | None = None) -> str:
    """At start-up: serve HTTP when the setting says so (or on `fallback_port`, the port the headless host that
    handed over served, so agents connected over HTTP keep working); a sentence for the status bar."""
    on, port = saved_http(settings)
    if not on and fallback_port is None:
        return ""
    from aleph_gui.gateways.http_gateway import GatewayError

    try:
        url = await endpoints.start_http(port if on else int(fallback_port or DEFAULT_PORT))
    except GatewayError as exc:
        return f"HTTP for agents is off: {exc}"
    return f"Agents can connect over HTTP at {url}/mcp"


def _copy_row(parent: QWidget, field: QWidget, name: str, text_of: Any) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(field, 1)
    button = QPushButton("Copy", parent)
    button.setAccessibleName(f"Copy {name}")
    button.clicked.connect(lambda: QGuiApplication.clipboard().setText(text_of()))
    row.addWidget(button)
    return row


class ConnectDialog(QDialog):
    def __init__(self, endpoints: HostEndpoints, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.endpoints = endpoints
        self.settings = settings
        self.tasks: set[asyncio.Task[Any]] = set()
        self.setWindowTitle("Connect an agent")
        self.setAccessibleName("Connect an agent")
        self.resize(760, 640)
        layout = QVBoxLayout(self)
        intro = QLabel("Agents (Claude Code, Claude Desktop, any MCP client) use every enabled plugin through this "
                       "window: each call passes the hook chain and shows in the live hook log.", self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self._endpoints_box())
        self.tabs = QTabWidget(self)
        self.tabs.setAccessibleName("Configuration snippets")
        self.snippet_views: dict[str, QPlainTextEdit] = {}
        for title in ("Claude Code", "Claude Desktop", "Python MCP client", "curl"):
            page = QWidget(self.tabs)
            box = QVBoxLayout(page)
            view = QPlainTextEdit(page)
            view.setReadOnly(True)
            view.setAccessibleName(f"{title} snippet")
            self.snippet_views[title] = view
            box.addWidget(view)
            copy = QPushButton(f"Copy {title} snippet", page)
            copy.setAccessibleName(f"Copy {title} snippet")
            copy.clicked.connect(lambda _=False, v=view: QGuiApplication.clipboard().setText(v.toPlainText()))
            box.addWidget(copy)
            self.tabs.addTab(page, title)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self._installer_box())
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        layout.addWidget(close)
        self.refresh()

    # -- building --------------------------------------------------------------------------------------
    def _endpoints_box(self) -> QGroupBox:
        box = QGroupBox("Where agents connect", self)
        form = QFormLayout(box)
        self.host_label = QLabel(box)
        self.host_label.setWordWrap(True)
        form.addRow("Host:", self.host_label)
        self.socket_field = self._field(box, "Host socket")
        form.addRow("Socket:", _copy_row(box, self.socket_field, "socket path", self.socket_field.text))
        self.http_check = QCheckBox("Serve MCP and plugin routes over HTTP on 127.0.0.1, port", box)
        self.http_check.setAccessibleName("Serve HTTP")
        self.port_spin = QSpinBox(box)
        self.port_spin.setRange(1024, 65535)
        self.port_spin.setAccessibleName("HTTP port")
        on, port = saved_http(self.settings)
        self.port_spin.setValue(self.endpoints.port or port)
        self.http_check.setChecked(self.endpoints.http is not None)
        self.http_check.toggled.connect(lambda checked: self._spawn(self.set_http(checked)))
        self.port_spin.editingFinished.connect(self._port_edited)
        row = QHBoxLayout()
        row.addWidget(self.http_check)
        row.addWidget(self.port_spin)
        row.addStretch(1)
        form.addRow("HTTP:", row)
        self.url_field = self._field(box, "MCP URL")
        form.addRow("MCP URL:", _copy_row(box, self.url_field, "MCP URL", self.url_field.text))
        self.token_field = self._field(box, "Bearer token")
        self.token_field.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        form.addRow("Token:", _copy_row(box, self.token_field, "bearer token", lambda: self.endpoints.token))
        self.http_message = QLabel(box)
        self.http_message.setAccessibleName("HTTP status")
        self.http_message.setWordWrap(True)
        form.addRow("", self.http_message)
        return box

    def _installer_box(self) -> QGroupBox:
        box = QGroupBox("Install into Claude (hooks and the MCP server; a backup of each file first)", self)
        layout = QVBoxLayout(box)
        row = QHBoxLayout()
        self.scope_combo = QComboBox(box)
        self.scope_combo.setAccessibleName("Where to install")
        for key, text in SCOPES:
            self.scope_combo.addItem(text, key)
        row.addWidget(self.scope_combo, 1)
        self.preview_button = QPushButton("Preview changes", box)
        self.install_button = QPushButton("Install", box)
        self.uninstall_button = QPushButton("Uninstall", box)
        for button, what, dry in ((self.preview_button, "install", True), (self.install_button, "install", False),
                                  (self.uninstall_button, "uninstall", False)):
            button.setAccessibleName(button.text())
            button.clicked.connect(lambda _=False, w=what, d=dry: self.run_installer(w, dry_run=d))
            row.addWidget(button)
        layout.addLayout(row)
        self.installer_output = QPlainTextEdit(box)
        self.installer_output.setReadOnly(True)
        self.installer_output.setAccessibleName("Installer output")
        self.installer_output.setPlaceholderText("Preview shows what would change in Claude's files, as a diff.")
        layout.addWidget(self.installer_output)
        return box

    @staticmethod
    def _field(parent: QWidget, name: str) -> QLineEdit:
        field = QLineEdit(parent)
        field.setReadOnly(True)
        field.setAccessibleName(name)
        return field

    # -- state -----------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        """The aleph-ext command line agents start: with `--home` unless the home is the default one."""
        home = self.endpoints.home
        default = Path.home() / ".aleph"
        return aleph_ext_command(None if home == default else str(home))

    def routes(self) -> list[tuple[str, str, str]]:
        out = []
        for info in self.endpoints.manager.plugins():
            if not info.runnable or info.state == "overridden":
                continue
            for cap in info.manifest.of_type("http_route") if info.manifest else []:
                out.append((info.id, str(cap.details.get("method", "GET")).upper(),
                            str(cap.details.get("path", "/"))))
        return out

    def refresh(self) -> None:
        e = self.endpoints
        if e.hosts:
            self.host_label.setText(f"This window hosts {html.escape(str(e.home))}")
        else:
            self.host_label.setText(f"This window does not host {html.escape(str(e.home))}: agents reach the "
                                    "host that does (aleph-ext host status says which).")
        self.socket_field.setText(str(e.socket or ""))
        self.http_check.setEnabled(e.hosts)
        self.http_check.blockSignals(True)
        self.http_check.setChecked(e.http is not None)
        self.http_check.blockSignals(False)
        self.url_field.setText(e.mcp_url or "HTTP is off")
        self.token_field.setText(e.token if e.http else "")
        if e.http and not self.http_message.text().startswith("HTTP could not"):
            self.http_message.setText(f"Plugin routes answer at {e.http}/plugins/<plugin-id>/<path>.")
        elif not e.http and not self.http_message.text().startswith("HTTP could not"):
            self.http_message.setText("HTTP is off: turn it on to connect agents by URL (stdio works either way).")
        command = self.command()
        self.snippet_views["Claude Code"].setPlainText(snippets.claude_code(command, e.mcp_url, e.token))
        self.snippet_views["Claude Desktop"].setPlainText(snippets.claude_desktop(command))
        self.snippet_views["Python MCP client"].setPlainText(snippets.python_client(command, e.mcp_url, e.token))
        self.snippet_views["curl"].setPlainText(snippets.curl(e.http, e.token, self.routes()))

    # -- actions ---------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def wait_idle(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def set_http(self, on: bool) -> None:
        """Turn HTTP on (at the port shown) or off, and remember the choice for the next start."""
        from aleph_gui.gateways.http_gateway import GatewayError

        port = self.port_spin.value()
        self.http_check.setEnabled(False)
        try:
            if on:
                await self.endpoints.start_http(port)
            else:
                await self.endpoints.stop_http()
        except GatewayError as exc:
            self.http_message.setText(f"HTTP could not start: {exc}")
            self.refresh()
            return
        finally:
            self.http_check.setEnabled(self.endpoints.hosts)
        self.settings.setValue(HTTP_ENABLED_KEY, on)
        self.settings.setValue(HTTP_PORT_KEY, port)
        self.settings.sync()
        self.http_message.setText("")
        self.refresh()

    def _port_edited(self) -> None:
        """A new port while HTTP runs: serve on it instead."""
        if self.endpoints.http is not None and self.port_spin.value() != self.endpoints.port:
            self._spawn(self.set_http(True))

    def run_installer(self, what: str, *, dry_run: bool) -> None:
        scope = str(self.scope_combo.currentData())
        run = claude_install.install if what == "install" else claude_install.uninstall
        project = self.endpoints.manager.locations.project or Path.cwd()
        try:
            report = run(scope, home=Path.home(), project=Path(project), command=self.command(), dry_run=dry_run)
        except SettingsFileError as exc:
            self.installer_output.setPlainText(f"Nothing was changed: {exc}")
            return
        text = report.text()
        if not dry_run and report.changed:
            text += "Restart Claude Code (or Claude Desktop) so it reads the changed files.\n"
        self.installer_output.setPlainText(text)


class ConnectAction(QAction):
    """"Connect an agent…" (Ctrl+Shift+A) in an "Agents" menu of `window`: the dialog is made on first use and
    shown again (never modal) after that."""

    def __init__(self, window: QMainWindow, endpoints: HostEndpoints, settings: QSettings) -> None:
        super().__init__("&Connect an agent…", window)
        self.window_ = window
        self.endpoints = endpoints
        self.settings = settings
        self.dialog: ConnectDialog | None = None
        self.setShortcut(QKeySequence(SHORTCUT))
        tip = "Show where agents connect, copy their settings, install into Claude"
        self.setToolTip(f"{tip} ({SHORTCUT})")
        self.setStatusTip(tip)
        window.menuBar().addMenu("A&gents").addAction(self)
        window.addAction(self)
        self.triggered.connect(self.show_dialog)

    def show_dialog(self) -> ConnectDialog:
        if self.dialog is None:
            self.dialog = ConnectDialog(self.endpoints, self.settings, self.window_)
        self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        return self.dialog
