"""Try it, part two: everything a plugin registers besides tools — ask a provider, send through a channel,
call an HTTP route, run a CLI entry or a chat command — through the manager, like any client would.
"""

from __future__ import annotations

import json
import logging
import shlex
import time
from typing import Any
from urllib.parse import parse_qsl

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from aleph_gui.core.errors import AlephError
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.ui import theme
from aleph_gui.ui.icons import icon

log = logging.getLogger(__name__)

KIND_WORDS = {"provider": "Provider", "channel": "Channel", "http_route": "HTTP route", "cli": "CLI entry",
              "command": "Command"}
# kind -> (input label, input placeholder, extra label or "", extra placeholder, run button text)
FORMS = {
    "provider": ("Prompt:", "What is the weather like?", "", "", "As&k"),
    "channel": ("Message:", "Hello from Try it", "To:", "who receives it (optional)", "&Send"),
    "http_route": ("Body:", "JSON or text (optional)", "Path:", "/status?verbose=1", "&Send request"),
    "cli": ("Arguments:", "NAME --flag", "", "", "Ru&n"),
    "command": ("Arguments:", "text after the command (optional)", "", "", "Ru&n"),
}


def entry_points(info: PluginInfo | None) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, name, details) of every provider, channel, HTTP route, CLI entry and command, declared or
    registered by running code."""
    if info is None:
        return []
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for cap in info.manifest.capabilities if info.manifest else []:
        if cap.type in FORMS:
            out[(cap.type, cap.name)] = dict(cap.details)
    for cap in info.capabilities:
        key = (str(cap.get("type")), str(cap.get("name", "")))
        if key[0] in FORMS and key[1] and key not in out:
            out[key] = {}
    return [(kind, name, details) for (kind, name), details in out.items()]


def route_target(name: str, details: dict[str, Any]) -> tuple[str, str]:
    """(method, path) of an HTTP route: from its details, else from a name like "GET /status"."""
    method, path = str(details.get("method") or ""), str(details.get("path") or "")
    if not (method and path):
        words = name.split(None, 1)
        if len(words) == 2 and words[0].isalpha():
            method, path = method or words[0], path or words[1]
    return (method or "GET").upper(), "/" + (path or name).strip("/")


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


class EntryPointBox(QGroupBox):
    finished = Signal(bool)  # ok

    def __init__(self, manager: ExtensionManager, parent: QWidget | None = None) -> None:
        super().__init__("Ask, send or run", parent)
        self.setToolTip("Ask a provider, send through a channel, call an HTTP route, run a CLI entry or a command")
        self.manager = manager
        self.info: PluginInfo | None = None
        self.busy = False
        self.combo = QComboBox(self)
        self.combo.setAccessibleName("Entry point to try")
        self.input_label = QLabel(self)
        self.input = QPlainTextEdit(self)
        self.input.setTabChangesFocus(True)
        self.input.setMaximumHeight(70)
        self.input.setAccessibleName("Input for the entry point")
        self.extra_label = QLabel(self)
        self.extra = QLineEdit(self)
        self.extra.setAccessibleName("Second input for the entry point")
        self.run_button = QPushButton(icon("run"), "Ru&n", self)
        self.run_button.setToolTip("Run it (Ctrl+Return)")
        self.outcome = QLabel(self)
        self.outcome.setWordWrap(True)
        self.outcome.setAccessibleName("Entry point outcome")
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.output.setAccessibleName("Entry point answer")
        self.output.setPlaceholderText("The answer appears here.")
        form = QFormLayout()
        form.addRow("&What:", self.combo)
        form.addRow(self.extra_label, self.extra)
        form.addRow(self.input_label, self.input)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.outcome, 1)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        layout.addWidget(self.output, 1)
        self.combo.currentIndexChanged.connect(self._entry_changed)
        self.run_button.clicked.connect(self._run_clicked)
        QShortcut(QKeySequence("Ctrl+Return"), self.input, self.run_button.click)
        QShortcut(QKeySequence("Ctrl+Return"), self.extra, self.run_button.click)
        self.set_plugin(None)

    def set_plugin(self, info: PluginInfo | None) -> None:
        same = info is not None and self.info is not None and info.id == self.info.id
        previous = self.combo.currentText()
        self.info = info
        self.combo.blockSignals(True)
        self.combo.clear()
        for kind, name, details in entry_points(info):
            self.combo.addItem(f"{KIND_WORDS[kind]} · {name}", (kind, name, details))
        self.combo.blockSignals(False)
        if same and previous and self.combo.findText(previous) >= 0:
            self.combo.setCurrentIndex(self.combo.findText(previous))
            self._refresh()
            return
        self._entry_changed(0)
        self.outcome.setText("")
        self.output.setPlainText("")

    def select(self, kind: str, name: str) -> bool:
        for n in range(self.combo.count()):
            data = self.combo.itemData(n)
            if data[0] == kind and data[1] == name:
                self.combo.setCurrentIndex(n)
                return True
        return False

    def _entry_changed(self, _index: int) -> None:
        data = self.combo.currentData()
        if not data:
            self.input_label.setText("")
            self._refresh()
            return
        kind, name, details = data
        label, placeholder, extra_label, extra_placeholder, run = FORMS[kind]
        self.input_label.setText(label)
        self.input.setPlaceholderText(placeholder)
        self.input.setAccessibleName(label.rstrip(":"))
        self.input.setPlainText("")
        self.extra_label.setText(extra_label)
        self.extra.setVisible(bool(extra_label))
        self.extra.setPlaceholderText(extra_placeholder)
        self.extra.setAccessibleName(extra_label.rstrip(":") or "Extra")
        self.extra.setText(route_target(name, details)[1] if kind == "http_route" else "")
        self.run_button.setText(run if kind != "http_route" else
                                f"&Send {route_target(name, details)[0]}")
        self.run_button.setAccessibleName(f"Run {KIND_WORDS[kind].lower()} {name}")
        self._refresh()

    def _refresh(self) -> None:
        info = self.info
        runnable = info is not None and info.runnable
        self.run_button.setEnabled(bool(self.combo.currentData()) and runnable and not self.busy)
        if info is not None and not runnable:
            self.run_button.setToolTip(f"{info.name} cannot run now: {info.runnable_reason}")
        else:
            self.run_button.setToolTip("Run it (Ctrl+Return)")

    def _say(self, text: str, color: str = "") -> None:
        self.outcome.setText(text)
        self.outcome.setStyleSheet(f"color: {color};" if color else "")

    @asyncSlot()
    async def _run_clicked(self) -> None:
        await self.run()

    async def run(self) -> bool:
        info, data = self.info, self.combo.currentData()
        if info is None or not data or self.busy:
            return False
        kind, name, details = data
        text = self.input.toPlainText()
        self.busy = True
        self._refresh()
        self._say(f"Running {KIND_WORDS[kind].lower()} {name}…")
        started = time.perf_counter()
        ok = False
        try:
            summary, output = await self._call(info.id, kind, name, details, text, self.extra.text().strip())
            ok = True
        except AlephError as exc:
            summary, output = f"✖ Failed after {(time.perf_counter() - started) * 1000:.1f} ms: {exc}", ""
        except ValueError as exc:  # what the user typed cannot be sent (unbalanced quotes in arguments)
            summary, output = f"✖ {exc}", ""
        except Exception as exc:  # a plugin's surprise must not close the window
            log.exception("entry point call failed")
            summary, output = f"✖ Failed: unexpected {type(exc).__name__}: {exc}", ""
        finally:
            self.busy = False
            self._refresh()
        took = (time.perf_counter() - started) * 1000
        self._say(f"{summary} ({took:.1f} ms)" if ok else summary, theme.OK_GREEN if ok else theme.ERROR_RED)
        self.output.setPlainText(output)
        self.finished.emit(ok)
        return ok

    async def _call(self, plugin_id: str, kind: str, name: str, details: dict[str, Any], text: str,
                    extra: str) -> tuple[str, str]:
        m = self.manager
        if kind == "provider":
            return "✔ The provider answered", await m.ask_provider(plugin_id, name, text, client="window")
        if kind == "channel":
            sent = await m.send_message(plugin_id, name, text, to=extra, client="window")
            return "✔ Sent", as_text(sent) if sent is not None else ""
        if kind == "cli":
            outcome = await m.run_cli(plugin_id, name, shlex.split(text), client="window")
            out = outcome.stdout + (("\n--- stderr ---\n" + outcome.stderr) if outcome.stderr else "")
            mark = "✔" if outcome.exit_code == 0 else "⚠"
            return f"{mark} Exit code {outcome.exit_code}", out
        if kind == "command":
            result = await m.run_command(plugin_id, name, text, client="window")
            return "✔ The command ran", as_text(result) if result is not None else ""
        method, _ = route_target(name, details)
        path, _, query_text = (extra or route_target(name, details)[1]).partition("?")
        body: Any = None
        if text.strip():
            try:
                body = json.loads(text)
            except json.JSONDecodeError:
                body = text
        answer = await m.http_request(plugin_id, method, path, query=dict(parse_qsl(query_text)), body=body,
                                      client="window")
        headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
        shown = answer.body.decode("utf-8", errors="replace")
        return f"✔ HTTP {answer.status}", (headers + "\n\n" if headers else "") + shown
