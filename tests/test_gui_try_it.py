"""Try it: a real WASM tool call (Extism, hand-written WAT) and a real hook chain, from the panel."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import json
import os
import subprocess
import sys

from PySide6.QtGui import QImage
from test_gui_support import (  # noqa: F401
    REPO,
    demo_home,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
    window,
)


def choose_tool(window, plugin_id: str, tool: str) -> None:
    assert window.select_plugin(plugin_id)
    assert window.details.select_tab("Try it")
    panel = window.try_it
    panel.tool_combo.setCurrentIndex(panel.tool_combo.findText(tool))
    assert panel.tool_combo.currentText() == tool


def test_try_it_runs_a_real_wasm_tool_and_shows_result_and_time(window, qloop) -> None:
    choose_tool(window, "wasm-wat-text-tools", "uppercase")
    panel = window.try_it
    panel.args_edit.setPlainText(json.dumps({"text": "hello wasm"}))
    assert panel.run_button.isEnabled()
    panel.run_button.click()
    wait_until(qloop, lambda: "returned in" in panel.result_label.text())
    assert json.loads(panel.result_edit.toPlainText()) == {"text": "HELLO WASM"}
    assert " ms" in panel.result_label.text()


def test_arguments_are_checked_against_the_schema_before_running(window) -> None:
    choose_tool(window, "wasm-wat-text-tools", "word_count")
    panel = window.try_it
    assert json.loads(panel.args_edit.toPlainText()) == {"text": "hello world"}, "prefilled from the schema"
    panel.args_edit.setPlainText('{"text": 5}')
    assert not panel.run_button.isEnabled()
    assert "text" in panel.args_status.text() and "string" in panel.args_status.text()
    panel.args_edit.setPlainText('{"text": ')
    assert "not valid JSON" in panel.args_status.text()
    panel.args_edit.setPlainText('{"text": "one two three"}')
    assert panel.run_button.isEnabled() and "match" in panel.args_status.text()


def test_a_plugin_that_waits_for_review_cannot_be_run(window) -> None:
    choose_tool(window, "kv-text-tools", "uppercase")
    assert not window.try_it.run_button.isEnabled()
    assert "needs review" in window.try_it.run_button.toolTip()


def test_fire_event_shows_each_handlers_decision(window, qloop) -> None:
    window.select_plugin("wasm-wat-text-tools")
    panel = window.try_it
    panel.event_combo.setCurrentText("message_received")
    panel.payload_edit.setPlainText(json.dumps({"text": "this is SPAM"}))
    panel.fire_button.click()
    wait_until(qloop, lambda: panel.trace.topLevelItemCount() == 1)
    item = panel.trace.topLevelItem(0)
    assert (item.text(1), item.text(3)) == ("wasm-wat-text-tools", "BLOCK")
    assert panel.event_label.text().startswith("⛔ Blocked")
    panel.payload_edit.setPlainText("{not json")
    panel.fire_button.click()
    wait_until(qloop, lambda: "not valid JSON" in panel.event_label.text())


def test_screenshot_option_renders_the_window_to_a_png(tmp_path) -> None:
    home = demo_home(tmp_path)
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "aleph_gui.app", "--home", str(home), "--project", str(tmp_path),
                           "--no-builtin", "--screenshot", str(out), "--select", "net-skills", "--tab",
                           "Permissions"], env=env, cwd=REPO, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr
    image = QImage(str(out))
    assert image.width() >= 1000 and image.height() >= 700
    assert "no plugin" not in proc.stderr and "no tab" not in proc.stderr
    assert not (tmp_path / "shot.ini.tmp").exists()


def test_screenshot_accepts_the_new_tabs_and_views(tmp_path) -> None:
    home = demo_home(tmp_path)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    for tab in ("Settings", "Services", "MCP servers", "Skills", "History"):
        out = tmp_path / f"{tab}.png"
        proc = subprocess.run([sys.executable, "-m", "aleph_gui.app", "--home", str(home), "--no-builtin",
                               "--project", str(tmp_path), "--screenshot", str(out), "--select",
                               "wasm-wat-text-tools", "--tab", tab], env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=90)
        assert proc.returncode == 0, proc.stderr
        assert "no tab" not in proc.stderr, tab
        assert QImage(str(out)).width() >= 1000
