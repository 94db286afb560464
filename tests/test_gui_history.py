"""History in the hook log dock: the audit log from state.db for a time range, the same filters as Live,
export as JSON Lines — and it outlives the window."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QDateTime
from test_gui_support import (  # noqa: F401
    close_window,
    demo_home,
    make_window,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
    window,
)

from aleph_gui.core.state import StateDB
from aleph_gui.core.trace import TraceRecord

HOUR = 3600.0


def past(home: Path, *records: tuple[float, str, str]) -> None:
    """Audit rows a previous session wrote: (seconds ago, plugin, decision)."""
    db = StateDB(home / "state.db")
    try:
        db.append_audit([TraceRecord(time.time() - ago, "before_tool_call", plugin, "guard", decision, 120_000,
                                     "", (), "claude") for ago, plugin, decision in records])
    finally:
        db.close()


def shown_plugins(panel) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.plugin for r in panel.shown_rows()]


def test_history_shows_yesterdays_entries_after_a_restart(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    first = make_window(qtbot, qloop, home, settings)
    run(qloop, first.manager.fire("message_received", {"text": "before the restart"}, client="cli"))
    close_window(qloop, first)
    past(home, (23 * HOUR, "yesterday-guard", "block"), (3 * 24 * HOUR, "old-guard", "continue"))

    w = make_window(qtbot, qloop, home, settings)
    assert w.hook_log.model.rowCount() == 0, "the live log starts empty"
    assert w.show_view("History")
    panel = w.hook_log
    assert panel.history and w.hook_dock.isVisible()
    assert panel.range_combo.currentText() == "Last 24 hours"
    assert shown_plugins(panel) == ["yesterday-guard", "wasm-wat-text-tools"], "oldest first, 3 days ago left out"
    assert "2 calls between" in panel.status.text()
    detail = panel.view.model().index(1, 5).data()
    assert "from cli" in detail, "who asked is shown"
    panel.range_combo.setCurrentIndex(panel.range_combo.findText("Last hour"))
    assert shown_plugins(panel) == ["wasm-wat-text-tools"]
    panel.range_combo.setCurrentIndex(panel.range_combo.findText("Last 7 days"))
    assert shown_plugins(panel) == ["old-guard", "yesterday-guard", "wasm-wat-text-tools"]
    close_window(qloop, w)


def test_custom_range_and_empty_range_say_what_they_show(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    past(home, (2 * 24 * HOUR, "guard", "block"))
    w = make_window(qtbot, qloop, home, settings)
    panel = w.hook_log
    panel.set_history(True)
    assert "No calls recorded between" in panel.status.text()
    panel.range_combo.setCurrentIndex(panel.range_combo.findText("Custom range"))
    assert panel.since_edit.isVisible() and panel.until_edit.isVisible()
    now = QDateTime.currentDateTime()
    panel.since_edit.setDateTime(now.addDays(-3))
    panel.until_edit.setDateTime(now.addDays(-1))
    assert shown_plugins(panel) == ["guard"]
    close_window(qloop, w)


def test_history_uses_the_live_filters_and_exports_what_it_shows(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    past(home, (60, "secret-guard", "block"), (50, "tool-rate-limiter", "continue"), (40, "secret-guard", "continue"))
    w = make_window(qtbot, qloop, home, settings)
    panel = w.hook_log
    panel.plugin_filter.setText("secret")
    panel.set_history(True)
    assert shown_plugins(panel) == ["secret-guard", "secret-guard"]
    panel.decision_filter.setCurrentIndex(panel.decision_filter.findData("block"))
    assert [r.decision for r in panel.shown_rows()] == ["block"]
    assert panel.status.text().startswith("1 shown of 3 calls")
    out = tmp_path / "history.jsonl"
    assert panel.export_jsonl(out) == 1
    [line] = out.read_text().splitlines()
    assert json.loads(line)["plugin"] == "secret-guard" and json.loads(line)["client"] == "claude"
    close_window(qloop, w)


def test_live_calls_keep_arriving_while_history_is_shown(window, qloop) -> None:
    panel = window.hook_log
    assert window.show_view("History")
    before = panel.history_model.rowCount()
    run(qloop, window.manager.fire("message_received", {"text": "hi"}))
    wait_until(qloop, lambda: panel.model.rowCount() == 1)
    assert panel.history_model.rowCount() == before, "history shows one query's answer, not the stream"
    assert not panel.pause_button.isVisible() and panel.range_combo.isVisible()
    assert window.show_view("Live")
    assert panel.view.model().rowCount() == 1 and panel.pause_button.isVisible()
    panel.set_history(True)
    panel.refresh_button.click()
    assert panel.history_model.rowCount() == before + 1, "Refresh reads the call just made"


def test_a_history_that_cannot_be_read_says_why(window) -> None:
    panel = window.hook_log

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("database disk image is malformed")

    panel.history_source = broken
    panel.set_history(True)
    assert panel.status.text() == "Could not read the history: database disk image is malformed"
    assert panel.history_model.rowCount() == 0
