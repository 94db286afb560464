"""Project folders are trusted first (issue 13): a banner with Trust / Details, no review dialog for an
untrusted project's plugins, "Stop trusting" in the Plugin menu; and the approval note when a plugin's
code changed since it was approved."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
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
    write_static_plugin,
)

NETWORK = '\n[scope]\nnetwork_access = { mode = "allow", hosts = ["api.example.com"] }\n'


@pytest.fixture
def project_window(qtbot, qloop, tmp_path: Path, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    home = demo_home(tmp_path)
    project = tmp_path / "cloned-repo"
    write_static_plugin(project / ".aleph" / "plugins" / "repo-prompts", "repo-prompts")
    write_static_plugin(project / ".aleph" / "plugins" / "repo-fetch", "repo-fetch", scope=NETWORK)
    w = make_window(qtbot, qloop, home, settings, project=project)
    yield w
    close_window(qloop, w)


def test_an_untrusted_project_shows_a_banner_and_opens_no_review(project_window, modal_guard) -> None:
    w = project_window
    folder = str(w.manager.project_folder)
    assert w.trust_banner.isVisible()
    assert f"The plugins of {folder} do not run until you trust this folder" in w.trust_banner.text()
    assert "Repo Fetch" in w.trust_banner.text() and "Repo Prompts" in w.trust_banner.text()
    for plugin in ("repo-prompts", "repo-fetch"):
        assert row_of(w, plugin)["Status"] == "Needs review"
        assert plugin not in [pid for pid, _ in w.review_bar.pending], "the folder comes before a review"
    assert w.open_review("repo-fetch") is None
    assert "trust the folder first" in w.message_bar.text()
    w.select_plugin("repo-fetch")
    assert not w.acts.review.isEnabled()
    assert not w.details.permissions.review_button.isEnabled()
    assert "is not trusted" in w.details.overview.text.toPlainText()
    assert modal_guard.opened == [], "no dialog opened by itself"
    assert not w.untrust_action.isEnabled(), "nothing to stop trusting yet"


def test_trust_lets_the_plugins_run_and_stop_trusting_stops_them(project_window, qloop) -> None:
    w = project_window
    w.trust_banner.trust_button.click()
    wait_until(qloop, lambda: row_of(w, "repo-prompts")["Status"] == "Enabled")
    assert w.manager.is_trusted()
    assert not w.trust_banner.isVisible()
    assert row_of(w, "repo-fetch")["Status"] == "Needs review", "trusting a folder approves nothing"
    assert "repo-fetch" in [pid for pid, _ in w.review_bar.pending]
    assert w.untrust_action.isEnabled()
    w.untrust_action.trigger()
    wait_until(qloop, lambda: row_of(w, "repo-prompts")["Status"] == "Needs review")
    assert not w.manager.is_trusted()
    assert w.trust_banner.isVisible()
    assert "no longer trusted" in w.message_bar.text()


def test_details_explains_trust_and_can_trust_from_there(project_window, qloop, modal_guard) -> None:
    w = project_window
    modal_guard.expect(1)
    w.trust_banner.details_button.click()
    box = w.confirm_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Repo Fetch" in box.text() and "does not approve anything" in box.text()
    trust = next(b for b in box.buttons() if b.text() == "Trust folder")
    trust.click()
    wait_until(qloop, lambda: w.manager.is_trusted())
    wait_until(qloop, lambda: not w.trust_banner.isVisible())


def test_changed_code_since_approval_is_said_on_overview_and_permissions(window, qloop) -> None:
    run(qloop, window.manager.grant("kv-text-tools"))
    window.apply_pending()
    wat = window.manager.plugin("kv-text-tools").path / "text_tools.wat"
    wat.write_text(wat.read_text() + "\n;; edited after approval\n")
    assert window.select_plugin("kv-text-tools")
    wait_until(qloop, lambda: "code changed since you approved it" in window.details.overview.text.toPlainText())
    assert "code changed since you approved it" in window.details.permissions.summary.text()


def test_no_two_visible_controls_share_an_alt_key_on_any_tab(project_window, qloop) -> None:
    """Alt+letter must activate one control; two visible with the same letter would only cycle focus."""
    from collections import Counter

    from PySide6.QtWidgets import QAbstractButton, QLabel

    from aleph_gui.ui.details import TAB_NAMES

    def mnemonic(text: str) -> str | None:
        at = text.replace("&&", "").find("&")
        return text.replace("&&", "")[at + 1].lower() if 0 <= at < len(text.replace("&&", "")) - 1 else None

    def clashes() -> list[str]:
        keys: Counter[str] = Counter()
        for widget in w.findChildren(QAbstractButton) + w.findChildren(QLabel):
            if widget.isVisible() and (not isinstance(widget, QLabel) or widget.buddy() is not None):
                key = mnemonic(widget.text())
                if key:
                    keys[key] += 1
        return [k for k, n in keys.items() if n > 1]

    w = project_window
    write_static_plugin(w.manager.locations.user_plugins / "tuned", "tuned",
                        scope='\n[config_schema.units]\ntype = "string"\ndefault = "metric"\n')
    run(qloop, w.manager.discover())
    assert w.trust_banner.isVisible() and w.review_bar.isVisible()
    for plugin in ("wasm-wat-text-tools", "tuned"):
        w.apply_pending()
        assert w.select_plugin(plugin)
        for tab in TAB_NAMES:
            assert w.show_view(tab)
            assert not clashes(), f"{plugin}, {tab}"
    w.try_it.entry.combo.addItem("Provider · test", ("provider", "test", {}))  # the other Try it form
    w.try_it.left.setTabVisible(1, True)
    w.try_it.show_entry_points()
    for kind in ("provider", "channel", "http_route", "cli", "command"):
        w.try_it.entry.combo.addItem(kind, (kind, "x", {}))
        w.try_it.entry.combo.setCurrentIndex(w.try_it.entry.combo.count() - 1)
        assert not clashes(), kind
