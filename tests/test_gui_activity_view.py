"""Activity at a glance in the window: the Overview chart, the Activity column's sparkline, and the
slowest handler / most frequent blocker line — fed by real hook calls, and kept across a restart."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

from test_gui_support import (  # noqa: F401
    close_window,
    demo_home,
    make_window,
    modal_guard,
    qloop,
    row_of,
    run,
    settings,
    wait_until,
    window,
)

from aleph_gui.ui.activity_chart import SPARK_ROLE
from aleph_gui.ui.plugin_table import COL_ACTIVITY

WAT = "wasm-wat-text-tools"  # its message_received hook blocks messages with the word "spam"


def fire(window, qloop, text: str, times: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        run(qloop, window.manager.fire("message_received", {"text": text}))


def test_the_overview_chart_and_glance_line_follow_real_calls(window, qloop) -> None:
    assert window.select_plugin(WAT) and window.show_view("Overview")
    overview = window.details.overview
    assert overview.chart.accessibleDescription() == "No calls in the last hour."
    fire(window, qloop, "hello", 3)
    fire(window, qloop, "buy spam now", 2)
    wait_until(qloop, lambda: window.activity.calls(WAT) == 5)
    window.refresh_activity(force=True)
    assert overview.chart.accessibleDescription().startswith("5 calls in the last hour, 5 in the current minute")
    assert "Blocks most: wasm-wat-text-tools · message_received → on_message() — 2 blocked" \
        in overview.figures.text()
    assert "Slowest handler: wasm-wat-text-tools · message_received → on_message()" in overview.figures.text()
    glance = window.hook_log.glance
    assert glance.isVisible()
    assert "Most frequent blocker: wasm-wat-text-tools · message_received → on_message() (2 blocked)" \
        in glance.text()
    assert "Slowest handler:" in glance.text()


def test_the_activity_column_draws_the_last_hour_and_says_the_last_minute(window, qloop) -> None:
    fire(window, qloop, "hello", 4)
    wait_until(qloop, lambda: window.activity.calls(WAT) == 4)
    window.refresh_activity(force=True)
    n = window.model.row_of(WAT)
    series = window.model.index(n, COL_ACTIVITY).data(SPARK_ROLE)
    assert len(series) == 60 and series[-1] == 4 and sum(series) == 4
    tip = window.model.index(n, COL_ACTIVITY).data(0x03)  # ToolTipRole
    assert "4 in the last hour" in tip
    wait_until(qloop, lambda: row_of(window, WAT)["Activity"] == "4/min", timeout=5)
    assert window.model.index(window.model.row_of("plain-skills"), COL_ACTIVITY).data(SPARK_ROLE) is None


def test_the_last_hour_survives_a_restart(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    first = make_window(qtbot, qloop, home, settings)
    fire(first, qloop, "buy spam", 3)
    close_window(qloop, first)
    w = make_window(qtbot, qloop, home, settings)
    assert w.activity.calls(WAT) == 3, "read back from the audit log at start-up"
    assert w.select_plugin(WAT)
    assert w.details.overview.chart.accessibleDescription().startswith("3 calls in the last hour")
    assert "3 blocked" in w.hook_log.glance.text()
    close_window(qloop, w)
