"""The main window with a real ExtensionManager: what a user sees and does."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
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


def test_window_lists_every_plugin_with_its_state_and_keeps_broken_ones(window) -> None:
    assert row_of(window, "wasm-wat-text-tools")["Status"] == "Enabled"
    assert row_of(window, "kv-text-tools")["Status"] == "Needs review"
    assert row_of(window, "Broken_Plugin")["Status"] == "Invalid"
    assert window.count_label.text() == "5 plugins"
    assert window.table_stack.currentWidget() is window.table


def test_pending_reviews_collect_in_one_bar_without_opening_dialogs(window, modal_guard) -> None:
    assert window.review_bar.isVisible()
    assert "2 plugins need review" in window.review_bar.text()
    assert modal_guard.opened == [], "no review dialog may pop up by itself"


def test_space_toggles_the_selected_plugin_in_table_and_database(window, qloop, qtbot) -> None:
    assert window.select_plugin("wasm-wat-text-tools")
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    wait_until(qloop, lambda: row_of(window, "wasm-wat-text-tools")["Status"] == "Disabled")
    assert window.manager.state.enabled("wasm-wat-text-tools") is False
    assert not window.manager.is_loaded("wasm-wat-text-tools")
    window.acts.toggle_enabled.trigger()
    wait_until(qloop, lambda: row_of(window, "wasm-wat-text-tools")["Status"] == "Enabled")
    assert window.manager.state.enabled("wasm-wat-text-tools") is True
    assert window.manager.is_loaded("wasm-wat-text-tools")


def test_review_dialog_lists_new_permissions_and_approve_runs_the_plugin(window, qloop, modal_guard) -> None:
    assert not window.manager.is_loaded("kv-text-tools"), "nothing runs before Approve"
    modal_guard.expect(1)
    window.review_bar.button.click()
    dialog = window.review_dialog
    assert dialog is not None and dialog.isVisible() and dialog.info.id == "kv-text-tools"
    shown = dialog.rows()
    assert ("added", "api:kv", True) in shown, "kv is new and enforced by the WASM sandbox"
    assert ("unchanged", "api:log", True) in shown
    dialog.approve_button.click()
    wait_until(qloop, lambda: row_of(window, "kv-text-tools")["Status"] == "Enabled")
    assert window.manager.is_loaded("kv-text-tools")
    assert window.manager.state.grant("kv-text-tools") is not None
    wait_until(qloop, lambda: "1 plugin needs review" in window.review_bar.text())


def test_deny_turns_a_new_plugin_off_and_grants_nothing(window, qloop, modal_guard) -> None:
    modal_guard.expect(1)
    dialog = window.open_review("net-skills")
    assert [r[1] for r in dialog.rows()][0] == "net:api.example.com", "highest risk first"
    assert ("added", "net:api.example.com", False) in dialog.rows(), "a static plugin's network is declared only"
    assert "only declared" in dialog.summary.text()
    dialog.deny_button.click()
    wait_until(qloop, lambda: row_of(window, "net-skills")["Status"] == "Disabled")
    assert window.manager.state.grant("net-skills") is None
    assert "net-skills" not in [pid for pid, _ in window.review_bar.pending]


def test_uninstall_asks_first_and_cancel_keeps_the_plugin(window, qloop, modal_guard) -> None:
    path = window.manager.plugin("plain-skills").path
    window.select_plugin("plain-skills")
    modal_guard.expect(2)
    window.acts.uninstall.trigger()
    box = window.confirm_box
    assert box is not None and "plain-skills" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    run(qloop, window.wait_idle())
    assert path.exists() and window.model.row_of("plain-skills") >= 0
    window.acts.uninstall.trigger()
    remove = next(b for b in window.confirm_box.buttons() if b.text() == "Uninstall")
    remove.click()
    wait_until(qloop, lambda: window.model.row_of("plain-skills") == -1)
    assert not path.exists()


def test_plugin_edited_on_disk_shows_its_new_version_without_user_action(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    w = make_window(qtbot, qloop, home, settings, watch=True)
    try:
        manifest = home / "plugins" / "plain-skills" / "aleph.plugin.toml"
        manifest.write_text(manifest.read_text().replace('version = "1.0.0"', 'version = "2.5.0"'))
        wait_until(qloop, lambda: row_of(w, "plain-skills")["Version"] == "2.5.0", timeout=20)
        write_static_plugin(home / "plugins" / "fresh-one", "fresh-one")
        wait_until(qloop, lambda: w.model.row_of("fresh-one") >= 0, timeout=20)
        assert row_of(w, "plain-skills")["Version"] == "2.5.0" and row_of(w, "fresh-one")["Status"] == "Enabled"
    finally:
        close_window(qloop, w)


def drop(window, paths: list[Path]) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    window.dragEnterEvent(enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    return True


def test_drag_and_drop_a_folder_and_a_zip_installs_them(window, qloop, tmp_path) -> None:
    folder = write_static_plugin(tmp_path / "incoming" / "dropped-folder", "dropped-folder")
    zipped_src = write_static_plugin(tmp_path / "incoming" / "zipped-one", "zipped-one")
    archive = tmp_path / "incoming" / "zipped-one.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in zipped_src.rglob("*"):
            z.write(f, f.relative_to(zipped_src.parent))
    shutil.rmtree(zipped_src)
    assert drop(window, [folder, archive])
    wait_until(qloop, lambda: window.model.row_of("dropped-folder") >= 0 and window.model.row_of("zipped-one") >= 0)
    run(qloop, window.wait_idle())
    assert (window.manager.locations.user_plugins / "zipped-one" / "aleph.plugin.toml").is_file()
    assert "Installed" in window.message_bar.text()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a plugin")
    assert not drop(window, [text_file]), "a plain file is refused at drag-enter"


def test_a_bad_install_says_why_in_one_sentence_and_keeps_running(window, qloop, tmp_path) -> None:
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    run(qloop, window.install(empty))
    assert window.message_bar.isVisible() and window.message_bar.text().startswith("Installing empty-folder failed")
    assert row_of(window, "wasm-wat-text-tools")["Status"] == "Enabled"


def test_hook_log_receives_fired_events_and_filters_them(window, qloop) -> None:
    run(qloop, window.manager.fire("message_received", {"text": "buy spam now"}))
    run(qloop, window.manager.fire("message_received", {"text": "hello"}))
    wait_until(qloop, lambda: window.hook_log.model.rowCount() == 2)
    log = window.hook_log
    assert {log.model.row(n).decision for n in range(2)} == {"block", "continue"}
    log.decision_filter.setCurrentIndex(log.decision_filter.findData("block"))
    assert log.proxy.rowCount() == 1
    assert log.proxy.index(0, 2).data() == "wasm-wat-text-tools"
    log.plugin_filter.setText("nobody")
    assert log.proxy.rowCount() == 0 and "0 of 2 calls" in log.status.text()
    wait_until(qloop, lambda: row_of(window, "wasm-wat-text-tools")["Activity"] == "2/min", timeout=5)


def test_filter_box_empty_result_explains_itself(window, qtbot) -> None:
    qtbot.keyClicks(window.filter_edit, "kind:mcp")
    assert window.proxy.rowCount() == 0
    assert window.table_stack.currentWidget() is window.placeholder
    assert "No plugin matches" in window.placeholder.text()
    window.filter_edit.clear()
    assert window.table_stack.currentWidget() is window.table


def test_empty_home_shows_how_to_install(qtbot, qloop, tmp_path, settings) -> None:
    w = make_window(qtbot, qloop, tmp_path / "empty-home", settings)
    try:
        assert w.table_stack.currentWidget() is w.placeholder
        assert "No plugins installed yet" in w.placeholder.text()
        assert not w.acts.uninstall.isEnabled()
    finally:
        close_window(qloop, w)


def test_safe_mode_turns_user_plugins_off_with_a_banner(window, qloop) -> None:
    window.acts.safe_mode.setChecked(True)
    wait_until(qloop, lambda: row_of(window, "wasm-wat-text-tools")["Status"] == "Disabled")
    assert window.safe_banner.isVisible() and "Safe mode is on" in window.safe_banner.label.text()
    assert not window.manager.is_loaded("wasm-wat-text-tools")
    window.safe_banner.findChild(type(window.review_bar.button)).click()
    wait_until(qloop, lambda: row_of(window, "wasm-wat-text-tools")["Status"] == "Enabled")
    assert not window.safe_banner.isVisible()


def test_details_tabs_show_permissions_problems_and_capabilities(window) -> None:
    window.select_plugin("net-skills")
    perms = window.details.permissions.tree
    texts = [perms.topLevelItem(n).text(0) for n in range(perms.topLevelItemCount())]
    assert "connect to api.example.com" in texts
    item = perms.topLevelItem(texts.index("connect to api.example.com"))
    assert item.text(3) == "waiting for you" and item.text(2) == "⚠ declared only"
    assert "declared only" in item.toolTip(2)
    window.select_plugin("Broken_Plugin")
    assert window.details.problems.count() >= 1
    assert window.details.tabText(window.details.indexOf(window.details.problems)).startswith("Problems (")
    window.select_plugin("wasm-wat-text-tools")
    caps = window.details.capabilities.tree
    groups = [caps.topLevelItem(n).text(0) for n in range(caps.topLevelItemCount())]
    assert groups == ["Tools (2)", "Hooks (1)"]
    assert window.details.select_tab("permissions") and window.details.currentWidget() is window.details.permissions


def test_every_action_has_a_shortcut_and_every_control_a_name(window) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QLineEdit, QPlainTextEdit

    for name, action in vars(window.acts).items():
        assert action.shortcuts(), f"action {name} has no shortcut"
        assert action.toolTip(), f"action {name} has no tooltip"
    for cls in (QLineEdit, QComboBox, QPlainTextEdit):
        for widget in window.findChildren(cls):
            if isinstance(widget.parent(), QComboBox | QAbstractSpinBox):
                continue  # the line edit inside an editable combo box or a date field shares its name
            assert widget.accessibleName(), f"unnamed {cls.__name__}"
    unnamed = [b.text() for b in window.findChildren(QAbstractButton)
               if not b.accessibleName() and not b.text() and b.isVisible()]
    assert not unnamed


def test_splitter_and_geometry_are_restored_from_settings(qtbot, qloop, tmp_path, settings) -> None:
    home = demo_home(tmp_path)
    w = make_window(qtbot, qloop, home, settings)
    w.splitter.setSizes([900, 300])
    sizes = w.splitter.sizes()
    close_window(qloop, w)
    assert settings.value("window/splitter") is not None
    w2 = make_window(qtbot, qloop, home, settings)
    try:
        assert w2.splitter.sizes() == sizes
    finally:
        close_window(qloop, w2)


def test_keys_reach_every_details_tab_and_the_new_views(window, qtbot) -> None:
    from aleph_gui.ui.details import TAB_NAMES

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    window.select_plugin("wasm-wat-text-tools")
    window.table.setFocus()
    shortcuts = {a.shortcut().toString(): a for a in window.tab_actions}
    assert sorted(shortcuts) == sorted(f"Alt+{(n + 1) % 10}" for n in range(len(TAB_NAMES)))
    for n, name in enumerate(TAB_NAMES):
        qtbot.keyClick(window.table, Qt.Key(Qt.Key.Key_0 + (n + 1) % 10), Qt.KeyboardModifier.AltModifier)
        assert window.details.tabText(window.details.currentIndex()).startswith(name)
    qtbot.keyClick(window.table, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.skills_dock.isVisible() and window.skills.filter_edit.hasFocus()
    qtbot.keyClick(window.skills.filter_edit, Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier)
    assert window.hook_log.history and window.hook_dock.isVisible()
    for name in ("Settings", "Services", "MCP servers", "Skills", "History", "Live"):
        assert window.show_view(name), name
    assert not window.show_view("Nonsense")


def test_qt_calls_keep_none_alive(qapp) -> None:
    """PySide6 6.12.0 on Python 3.11 loses a reference to None on every call that returns nothing; the
    window makes hundreds a second and dies with 'Fatal Python error: none_dealloc' within minutes."""
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(1000):
        label.setText("x")
        label.update()
    assert sys.getrefcount(None) - before > -100, "this PySide6 build leaks references to None"
