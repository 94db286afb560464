"""The window with the real Node demo `node-assistant-kit` (a service, a provider, a channel, an HTTP route,
a CLI entry, a chat command, a setting): Services start and stop, a saved setting reaches the running
plugin, and every entry point answers from Try it."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_support import needs_node
from test_gui_support import (  # noqa: F401
    close_window,
    copy_demo,
    make_window,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
)

pytestmark = needs_node
KIT = "node-assistant-kit"


@pytest.fixture
def kit(qtbot, qloop, tmp_path: Path, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    copy_demo(home, KIT)
    w = make_window(qtbot, qloop, home, settings)
    run(qloop, w.manager.grant(KIT))
    w.apply_pending()
    assert w.select_plugin(KIT)
    yield w
    close_window(qloop, w)


def entry(w: Any, kind: str, name: str) -> Any:
    assert w.show_view("Try it")
    assert w.try_it.show_entry_points()
    box = w.try_it.entry
    assert box.isVisible(), "the form is in front"
    assert box.select(kind, name)
    return box


def test_start_turns_the_service_to_running_and_stop_back(kit, qloop) -> None:
    assert kit.show_view("Services")
    pane = kit.services_pane
    assert pane.rows() == [{"name": "clock", "state": "stopped", "since": "—"}], "found stopped at start-up"
    assert pane.start_button.isEnabled() and not pane.stop_button.isEnabled()
    pane.start_button.click()
    wait_until(qloop, lambda: pane.rows() and pane.rows()[0]["state"] == "running")
    row = pane.rows()[0]
    assert row["since"] != "—", "the window saw it start, so it says when"
    assert "started" in pane.outcome.text()
    assert pane.stop_button.isEnabled() and not pane.start_button.isEnabled()
    assert kit.manager.services(KIT)[0]["state"] == "running"
    assert "process running" in pane.process.text()
    item = pane.tree.topLevelItem(0)
    pane.tree.itemActivated.emit(item, 0)  # Enter on a running service stops it
    wait_until(qloop, lambda: pane.rows()[0]["state"] == "stopped")
    assert kit.manager.services(KIT)[0]["state"] == "stopped"


def test_a_saved_greeting_reaches_the_running_plugin_without_a_restart(kit, qloop, qtbot) -> None:
    box = entry(kit, "provider", "rules")
    box.input.setPlainText("hello there")
    box.run_button.click()
    wait_until(qloop, lambda: "answered" in box.outcome.text())
    assert box.output.toPlainText().startswith("Hello! ")
    pid = kit.manager.plugin(KIT).runtime.get("pid")
    assert kit.show_view("Settings")
    pane = kit.settings_pane
    assert "reaches the running plugin at once" in pane.note.text()
    edit = pane.fields["greeting"].edit
    edit.selectAll()
    qtbot.keyClicks(edit, "Ahoy")
    pane.save_button.click()
    wait_until(qloop, lambda: "Saved" in pane.status.text())
    assert kit.manager.settings(KIT).values == {"greeting": "Ahoy"}
    box = entry(kit, "provider", "rules")
    box.input.setPlainText("hello again")
    box.run_button.click()
    wait_until(qloop, lambda: box.output.toPlainText().startswith("Ahoy! "))
    assert kit.manager.plugin(KIT).runtime.get("pid") == pid, "same process: read live, not restarted"


def test_a_channel_sends_an_http_route_answers_a_cli_entry_and_a_command_run(kit, qloop) -> None:
    box = entry(kit, "channel", "outbox")
    box.input.setPlainText("see you at noon")
    box.extra.setText("ada")
    box.run_button.click()
    wait_until(qloop, lambda: "Sent" in box.outcome.text())
    assert json.loads(box.output.toPlainText()) == {"delivered": True, "to": "ada"}
    outbox = kit.manager.plugin(KIT).path / "outbox" / "messages.log"
    assert json.loads(outbox.read_text().splitlines()[-1])["text"] == "see you at noon"

    box = entry(kit, "http_route", "GET /status")
    assert box.extra.text() == "/status" and "GET" in box.run_button.text()
    box.run_button.click()
    wait_until(qloop, lambda: "HTTP 200" in box.outcome.text())
    assert "clock" in box.output.toPlainText()

    box = entry(kit, "cli", "greet")
    box.input.setPlainText("Ada")
    box.run_button.click()
    wait_until(qloop, lambda: "Exit code 0" in box.outcome.text())
    assert "Ada" in box.output.toPlainText()

    box = entry(kit, "command", "today")
    box.run_button.click()
    wait_until(qloop, lambda: "The command ran" in box.outcome.text())
    assert box.output.toPlainText().strip()
    calls = [r for r in kit.manager.audit(plugin=KIT) if r.client == "window"]
    assert {r.event for r in calls} >= {"channel", "http_route", "cli", "command"}, "each is traced as the window's"


def test_services_of_a_plugin_waiting_for_review_cannot_start_and_say_why(qtbot, qloop, tmp_path,
                                                                          settings) -> None:
    home = tmp_path / "home"
    copy_demo(home, KIT)
    w = make_window(qtbot, qloop, home, settings)
    assert w.select_plugin(KIT) and w.show_view("Services")
    pane = w.services_pane
    assert pane.rows()[0]["name"] == "clock"
    assert not pane.start_button.isEnabled()
    assert "cannot run now" in pane.process.text() and "cannot run now" in pane.start_button.toolTip()
    close_window(qloop, w)
