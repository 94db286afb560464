"""The MCP servers tab with the real demo `mcp-time-server` (a Python stdio server run by the host): the
declared command, its sandbox, List tools with their schemas, and a tool called from Try it."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_gui_support import (  # noqa: F401
    close_window,
    copy_demo,
    demo_home,
    make_window,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
)

DEMO = "mcp-time-server"


@pytest.fixture
def mcp_window(qtbot, qloop, tmp_path: Path, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    copy_demo(home, DEMO)
    w = make_window(qtbot, qloop, home, settings)
    assert w.select_plugin(DEMO)
    yield w
    close_window(qloop, w)


def test_a_declared_server_shows_its_command_and_starts_only_when_asked(mcp_window, qloop) -> None:
    w = mcp_window
    assert w.show_view("MCP servers")
    pane = w.mcp_pane
    [row] = pane.rows()
    assert row["name"] == "time" and "server.py" in row["command"]
    assert row["state"] == "Not running", "it waits for review: nothing was started"
    assert not pane.list_button.isEnabled()
    assert "Not running" in pane.facts.text() and "review" in pane.facts.text()
    run(qloop, w.manager.grant(DEMO))
    w.apply_pending()
    [row] = pane.rows()
    assert row["state"] == "Stopped", "approved, but looking at the tab runs no program"
    assert "Sandbox:" in pane.facts.text()
    assert pane.list_button.isEnabled()


def test_list_tools_starts_the_server_and_try_it_calls_its_tool(mcp_window, qloop) -> None:
    w = mcp_window
    run(qloop, w.manager.grant(DEMO))
    w.apply_pending()
    assert w.show_view("MCP servers")
    pane = w.mcp_pane
    pane.list_button.click()
    wait_until(qloop, lambda: "offers 2 tools" in pane.outcome.text(), timeout=30)
    assert sorted(pane.tool_names()) == ["convert_time", "current_time"]
    assert pane.rows()[0]["state"] == "Running" and pane.rows()[0]["tools"] == "2"
    n = pane.tool_names().index("convert_time")
    pane.tools.setCurrentItem(pane.tools.topLevelItem(n))
    schema = json.loads(pane.schema.toPlainText())
    assert schema["type"] == "object" and "source_timezone" in schema["properties"]
    pane.try_button.click()
    panel = w.try_it
    assert w.details.currentWidget() is panel
    assert panel.tool_combo.currentText() == "convert_time"
    panel.args_edit.setPlainText(json.dumps({"time": "08:30", "source_timezone": "UTC",
                                             "target_timezone": "Europe/Lisbon"}))
    assert panel.check_arguments(), "checked against the MCP tool's own schema"
    panel.run_button.click()
    wait_until(qloop, lambda: "returned in" in panel.result_label.text(), timeout=30)
    assert "08:30" in panel.result_edit.toPlainText()
    traced = [r for r in w.manager.audit(plugin=DEMO) if r.handler == "convert_time"]
    assert traced and traced[-1].client == "window"


def test_try_it_can_list_the_mcp_tools_itself(mcp_window, qloop) -> None:
    w = mcp_window
    run(qloop, w.manager.grant(DEMO))
    w.apply_pending()
    assert w.show_view("Try it")
    panel = w.try_it
    assert panel.mcp_button.isVisible() and panel.tool_combo.count() == 0
    assert "List MCP tools" in panel.tool_description.text()
    panel.mcp_button.click()
    wait_until(qloop, lambda: panel.tool_combo.count() == 2, timeout=30)
    assert "2 MCP tools listed" in panel.tool_description.text()
    assert w.mcp_pane.known_tools(DEMO), "the MCP servers tab learns them too"


def test_a_plugin_without_servers_says_so(qtbot, qloop, tmp_path, settings) -> None:
    w = make_window(qtbot, qloop, demo_home(tmp_path), settings)
    assert w.select_plugin("wasm-wat-text-tools") and w.show_view("mcp-servers")
    pane = w.mcp_pane
    assert pane.rows() == []
    assert pane.servers.topLevelItem(0).text(0) == "This plugin declares no MCP servers."
    assert not pane.list_button.isEnabled() and not w.try_it.mcp_button.isVisibleTo(w.try_it)
    close_window(qloop, w)
