"""The window's "Connect an agent" dialog on a real host: endpoints, HTTP switched on from the dialog, snippets
and copy buttons, the Claude installers with a dry run — and an agent's call showing live in the hook log."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agent_support import DEMOS, http_get, http_session
from plugin_files import approve
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton
from test_gui_support import make_window, modal_guard, qloop, run, settings, wait_until  # noqa: F401

from aleph_gui.host.endpoints import HostEndpoints
from aleph_gui.host.hosting import Hosting
from aleph_gui.host.info import read_host_info
from aleph_gui.ui.connect_dialog import HTTP_ENABLED_KEY, HTTP_PORT_KEY, ConnectAction, start_saved_http

pytestmark = pytest.mark.timeout(180)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hosted(qtbot: Any, qloop: Any, tmp_path: Path, settings: QSettings) -> Iterator[tuple[Any, HostEndpoints]]:
    """A window that hosts its home (as `aleph-gui` does), with the Connect action installed."""
    home = tmp_path / "home"
    approve(home, shutil.copytree(DEMOS / "wasm-wat-text-tools", home / "plugins" / "wasm-wat-text-tools"))
    hosting = run(qloop, Hosting.claim(home, "window"))
    hosting.announce()
    window = make_window(qtbot, qloop, home, settings)
    run(qloop, hosting.serve(window.manager))
    endpoints = HostEndpoints(home, window.manager, hosting)
    window.connect_action = ConnectAction(window, endpoints, settings)
    yield window, endpoints
    window.close()  # first: pytest-qt has already asked Qt to delete it once the loop runs
    run(qloop, endpoints.stop_http())
    run(qloop, hosting.stop_serving())
    run(qloop, window.wait_idle())
    run(qloop, window.manager.stop())
    hosting.release()


def button(dialog: Any, name: str) -> QPushButton:
    found = [b for b in dialog.findChildren(QPushButton) if b.accessibleName() == name]
    assert len(found) == 1, name
    return found[0]


def test_the_dialog_opens_from_its_menu_action_without_being_modal_and_shows_the_endpoints(
        hosted, modal_guard) -> None:
    window, endpoints = hosted
    action = window.connect_action
    assert action.shortcut().toString() == "Ctrl+Shift+A"
    assert [a.text() for a in window.menuBar().actions()][-1] == "A&gents"
    action.trigger()
    dialog = action.dialog
    assert dialog.isVisible() and not dialog.isModal() and modal_guard.opened == []
    assert dialog.accessibleName() == "Connect an agent"
    assert dialog.socket_field.text() == str(endpoints.home / "host.sock")
    assert dialog.url_field.text() == "HTTP is off" and not dialog.http_check.isChecked()
    assert "This window hosts" in dialog.host_label.text()
    names = {w.accessibleName() for w in dialog.findChildren(QPushButton)}
    assert {"Copy socket path", "Copy MCP URL", "Copy bearer token", "Copy Claude Code snippet",
            "Copy Claude Desktop snippet", "Copy Python MCP client snippet", "Copy curl snippet",
            "Preview changes", "Install", "Uninstall"} <= names

    button(dialog, "Copy socket path").click()
    assert QGuiApplication.clipboard().text() == str(endpoints.home / "host.sock")
    button(dialog, "Copy Claude Desktop snippet").click()
    server = json.loads(QGuiApplication.clipboard().text())["mcpServers"]["aleph"]
    assert server["args"][-2:] == ["mcp", "serve"] and "--home" in server["args"]
    button(dialog, "Copy Claude Code snippet").click()
    assert "claude mcp add --scope user aleph -- " in QGuiApplication.clipboard().text()


def test_http_turned_on_in_the_dialog_serves_agents_and_their_calls_show_in_the_hook_log(
        hosted, qloop, settings: QSettings) -> None:
    window, endpoints = hosted
    dialog = window.connect_action.show_dialog()
    port = free_port()
    dialog.port_spin.setValue(port)
    dialog.http_check.setChecked(True)
    wait_until(qloop, lambda: endpoints.http is not None and dialog.url_field.text().endswith("/mcp"))
    run(qloop, dialog.wait_idle())
    url = f"http://127.0.0.1:{port}"
    assert dialog.url_field.text() == f"{url}/mcp"
    assert read_host_info(endpoints.home).http == url  # agents and `aleph-ext host status` see it
    assert settings.value(HTTP_ENABLED_KEY, type=bool) and settings.value(HTTP_PORT_KEY, type=int) == port
    button(dialog, "Copy bearer token").click()
    token = QGuiApplication.clipboard().text()
    assert token == endpoints.token and len(token) >= 32
    assert f"--header 'Authorization: Bearer {token}'" in dialog.snippet_views["Claude Code"].toPlainText()

    status, _, _ = run(qloop, asyncio.to_thread(http_get, url, "/mcp"))
    assert status == 401  # the window's HTTP has the same guard

    moved = free_port()  # another port while it runs: it moves there
    dialog.port_spin.setValue(moved)
    dialog.port_spin.editingFinished.emit()
    wait_until(qloop, lambda: endpoints.port == moved)
    run(qloop, dialog.wait_idle())
    url = f"http://127.0.0.1:{moved}"
    assert dialog.url_field.text() == f"{url}/mcp" and settings.value(HTTP_PORT_KEY, type=int) == moved

    async def agent_call() -> Any:
        async with http_session(url, token, client="gui-test-agent") as session:
            return await session.call_tool("uppercase", {"text": "hello window"})

    result = run(qloop, asyncio.to_thread(lambda: asyncio.run(agent_call())), timeout=60)
    assert result.structured_content == {"text": "HELLO WINDOW"}
    wait_until(qloop, lambda: any(r.client == "gui-test-agent" for r in window.hook_log.model.rows()))

    dialog.http_check.setChecked(False)
    wait_until(qloop, lambda: endpoints.http is None)
    run(qloop, dialog.wait_idle())
    assert dialog.url_field.text() == "HTTP is off" and read_host_info(endpoints.home).http is None
    assert not settings.value(HTTP_ENABLED_KEY, type=bool)


def test_a_saved_http_setting_is_applied_when_the_window_starts_and_a_taken_port_is_one_sentence(
        hosted, qloop, settings: QSettings) -> None:
    window, endpoints = hosted
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        settings.setValue(HTTP_ENABLED_KEY, True)
        settings.setValue(HTTP_PORT_KEY, taken.getsockname()[1])
        message = run(qloop, start_saved_http(settings, endpoints))
        assert message.startswith("HTTP for agents is off: port ") and "already in use" in message
        assert endpoints.http is None
    finally:
        taken.close()
    port = free_port()
    settings.setValue(HTTP_PORT_KEY, port)
    assert run(qloop, start_saved_http(settings, endpoints)) == f"Agents can connect over HTTP at http://127.0.0.1:{port}/mcp"


def test_the_installer_buttons_preview_install_and_uninstall_for_claude_desktop(
        hosted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    window, _ = hosted
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    config = tmp_path / "user" / ".config" / "Claude" / "claude_desktop_config.json"
    dialog = window.connect_action.show_dialog()
    dialog.scope_combo.setCurrentIndex(dialog.scope_combo.findData("desktop"))
    button(dialog, "Preview changes").click()
    preview = dialog.installer_output.toPlainText()
    assert "dry run: nothing was written" in preview and f"would be created: {config}" in preview
    assert '"aleph"' in preview and not config.exists()
    button(dialog, "Install").click()
    assert json.loads(config.read_text())["mcpServers"]["aleph"]["args"][-2:] == ["mcp", "serve"]
    assert "Restart Claude" in dialog.installer_output.toPlainText()
    button(dialog, "Uninstall").click()
    assert not config.exists() and "removed" in dialog.installer_output.toPlainText()
