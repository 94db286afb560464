"""The Qt models behind the plugin table and the hook log, with real discovered plugins."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import json
from pathlib import Path

import pytest
from manager_helpers import headless_plugins
from test_gui_support import demo_home, modal_guard, write_static_plugin  # noqa: F401

from aleph_gui.core.paths import Locations
from aleph_gui.core.trace import TraceRecord
from aleph_gui.ui.hook_log import HookLogPanel
from aleph_gui.ui.hook_log_model import HookLogFilter, HookLogModel, HookRate
from aleph_gui.ui.plugin_table import FilterQuery, PluginFilterProxy, PluginTableModel


@pytest.fixture
def infos(tmp_path: Path):
    home = demo_home(tmp_path)
    locations = Locations(home=home, project=None, builtin=None)
    return headless_plugins(locations)


def visible_ids(proxy: PluginFilterProxy) -> set[str]:
    from aleph_gui.ui.plugin_table import PLUGIN_ID_ROLE

    return {proxy.index(r, 0).data(PLUGIN_ID_ROLE) for r in range(proxy.rowCount())}


def test_plugin_table_model_passes_qt_model_checks(qtmodeltester, infos) -> None:
    model = PluginTableModel()
    model.sync(infos)
    model.set_hook_counts({infos[0].id: 3})
    model.set_sparklines({infos[0].id: [0] * 59 + [3]})
    qtmodeltester.check(model)
    proxy = PluginFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text("@review kind:wasm")
    qtmodeltester.check(proxy)


def test_table_shows_state_word_kind_and_risk_for_each_plugin(infos) -> None:
    model = PluginTableModel()
    model.sync(infos)
    rows = {model.index(r, 1).data(): [model.index(r, c).data() for c in range(8)] for r in range(model.rowCount())}
    wasm = next(v for k, v in rows.items() if "wasm-wat-text-tools" in k)
    assert wasm[0] == "Enabled" and wasm[3] == "WASM" and wasm[5] == "Low"
    net = next(v for k, v in rows.items() if "net-skills" in k)
    assert net[0] == "Needs review" and net[3] == "Skills" and net[5] == "Medium"
    broken = next(v for k, v in rows.items() if "Broken_Plugin" in k)
    assert broken[0] == "Invalid" and int(broken[6]) >= 1, "an invalid plugin stays listed with its problems"


@pytest.mark.parametrize("text, expected", [
    ("@review", {"kv-text-tools", "net-skills"}),
    ("@enabled", {"wasm-wat-text-tools", "plain-skills"}),
    ("@error", {"Broken_Plugin"}),
    ("kind:wasm", {"wasm-wat-text-tools", "kv-text-tools"}),
    ("kind:wasm @review", {"kv-text-tools"}),
    ("@enabled @review kind:skills", {"plain-skills", "net-skills"}),
    ("scope:network", {"net-skills"}),
    ("origin:user text tools", {"wasm-wat-text-tools", "kv-text-tools"}),
    ("origin:project", set()),
    ("PLAIN", {"plain-skills"}),
])
def test_filter_tokens_select_the_right_plugins(infos, text: str, expected: set[str]) -> None:
    model = PluginTableModel()
    model.sync(infos)
    proxy = PluginFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter_text(text)
    assert visible_ids(proxy) == expected


def test_filter_query_keeps_unknown_tokens_as_text() -> None:
    q = FilterQuery.parse('@disabled kind:node "two words" foo:bar')
    assert q.states == {"disabled"} and q.kinds == {"nodejs"}
    assert q.words == ["two words", "foo:bar"]
    assert FilterQuery.parse('unterminated "quote').words == ["unterminated", '"quote']


def test_sync_updates_rows_in_place_and_removes_gone_plugins(infos, tmp_path) -> None:
    model = PluginTableModel()
    model.sync(infos)
    inserted, removed = [], []
    model.rowsInserted.connect(lambda *a: inserted.append(a))
    model.rowsRemoved.connect(lambda *a: removed.append(a))
    fewer = [i for i in infos if i.id != "plain-skills"]
    model.sync(fewer)
    assert model.row_of("plain-skills") == -1 and len(removed) == 1 and not inserted
    model.sync(infos)
    assert model.row_of("plain-skills") >= 0 and len(inserted) == 1


def rows(n: int, decision: str = "continue", plugin: str = "p", event: str = "message_received") -> list[TraceRecord]:
    return [TraceRecord(1000.0 + i, event, plugin, "h", decision, (10 + i) * 1000, "", (), "") for i in range(n)]


def test_hook_log_model_passes_qt_model_checks(qtmodeltester) -> None:
    model = HookLogModel(capacity=50)
    model.append_batch(rows(30) + rows(5, "block", "guard"))
    qtmodeltester.check(model)
    proxy = HookLogFilter()
    proxy.setSourceModel(model)
    proxy.set_filters(decision="block")
    qtmodeltester.check(proxy)
    history = HookLogModel(capacity=10)
    history.set_rows(rows(25))
    assert history.rowCount() == 10 and history.row(0).time == 1015.0, "the newest rows of an answer are kept"
    qtmodeltester.check(history)


def test_hook_log_ring_keeps_only_the_newest_rows() -> None:
    model = HookLogModel(capacity=100)
    for start in range(0, 1000, 70):
        model.append_batch([TraceRecord(float(start + i), "e", "p", "h", "continue", 1000, "", (), "") for i in range(70)])
    assert model.rowCount() == 100
    assert model.row(0).time == 950.0 and model.row(99).time == 1049.0
    model.append_batch(rows(250))
    assert model.rowCount() == 100 and model.row(99).duration_us == 259


def test_hook_log_filters_by_event_plugin_and_decision() -> None:
    model = HookLogModel()
    model.append_batch(rows(3, "continue", "alpha", "message_received") + rows(2, "block", "guard", "before_tool_call")
                       + [TraceRecord(1.0, "session_start", "alpha", "h", "continue", 5000, "boom", (), "")])
    proxy = HookLogFilter()
    proxy.setSourceModel(model)
    proxy.set_filters(decision="block")
    assert proxy.rowCount() == 2
    proxy.set_filters(decision="", plugin="alp")
    assert proxy.rowCount() == 4
    proxy.set_filters(event="session")
    assert proxy.rowCount() == 1
    proxy.set_filters(event="", plugin="", decision="error")
    assert proxy.rowCount() == 1


def test_block_rows_stand_out_with_word_icon_and_background() -> None:
    from PySide6.QtCore import Qt

    model = HookLogModel()
    model.append_batch(rows(1, "continue") + rows(1, "block"))
    ok, blocked = model.index(0, 3), model.index(1, 3)
    assert blocked.data() == "BLOCK" and ok.data() == "continue"
    assert blocked.data(Qt.ItemDataRole.BackgroundRole) is not None
    assert ok.data(Qt.ItemDataRole.BackgroundRole) is None
    assert not blocked.data(Qt.ItemDataRole.DecorationRole).isNull()


def test_hook_panel_pause_holds_rows_and_export_writes_jsonl(qtbot, tmp_path) -> None:
    panel = HookLogPanel(capacity=1000)
    qtbot.addWidget(panel)
    panel.add_rows(rows(3))
    panel.set_paused(True)
    panel.add_rows(rows(4, "block"))
    assert panel.model.rowCount() == 3 and "4 waiting" in panel.status.text()
    panel.set_paused(False)
    assert panel.model.rowCount() == 7
    panel.decision_filter.setCurrentIndex(panel.decision_filter.findData("block"))
    out = tmp_path / "log.jsonl"
    assert panel.export_jsonl(out) == 4
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["decision"] for line in lines} == {"block"} and lines[0]["event"] == "message_received"
    panel.clear()
    assert panel.model.rowCount() == 0 and "No hook calls yet" in panel.status.text()


def test_hook_rate_counts_the_last_minute_only() -> None:
    rate = HookRate()
    for t in (100.0, 130.0, 159.5, 160.2):
        rate.add("a", t)
    rate.add("b", 100.0)
    assert rate.counts(now=159.0) == {"a": 4, "b": 1}
    assert rate.counts(now=160.5) == {"a": 3}, "calls older than 60 s no longer count"
    assert rate.counts(now=190.0) == {"a": 2}


def test_static_plugin_helper_writes_a_valid_manifest(tmp_path) -> None:
    from aleph_gui.core.discovery import load_one

    found = load_one(write_static_plugin(tmp_path / "x", "x-plugin"), "user")
    assert found.valid and found.manifest.version == "1.0.0"
