"""The Settings tab: a form generated from the plugin's config_schema, checked as you type with the core's
rules, saved to the same store as `aleph-ext config` (the manager's settings)."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import textwrap

import pytest
from PySide6.QtCore import Qt
from test_gui_support import (  # noqa: F401
    close_window,
    demo_home,
    make_window,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
    write_static_plugin,
)

from aleph_gui.core.paths import BUILTIN_PLUGINS
from aleph_gui.ui.schema_form import BoolField, ChoiceField, Field, GroupField, ListField, MapField, TextField

SCHEMA = textwrap.dedent("""
    [config_schema.units]
    type = "string"
    enum = ["metric", "imperial"]
    default = "metric"
    description = "Units for temperatures."

    [config_schema.max_items]
    type = "integer"
    minimum = 1
    maximum = 50
    default = 10
    description = "How many results to show."

    [config_schema.ratio]
    type = "number"
    default = 0.5

    [config_schema.verbose]
    type = "boolean"
    default = false

    [config_schema.tags]
    type = "array"
    items = { type = "string" }
    default = ["news"]

    [config_schema.limits]
    type = "object"
    additionalProperties = { type = "integer", minimum = 0 }
    default = {}
    description = "Calls per minute by tool."

    [config_schema.server]
    type = "object"
    description = "Where to connect."
    properties = { host = { type = "string", default = "localhost" }, port = { type = "integer", minimum = 1, maximum = 65535, default = 8080 } }
    """)


def settings_window(qtbot, qloop, tmp_path, settings, select: str = "tuned"):  # type: ignore[no-untyped-def]
    home = demo_home(tmp_path)
    write_static_plugin(home / "plugins" / "tuned", "tuned", scope=SCHEMA)
    w = make_window(qtbot, qloop, home, settings)
    assert w.select_plugin(select)
    assert w.show_view("Settings")
    return w


def type_into(qtbot, edit, text: str) -> None:  # type: ignore[no-untyped-def]
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)


def test_every_schema_type_gets_its_editor_with_help_and_default(qtbot, qloop, tmp_path, settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    pane = w.settings_pane
    kinds = {key: type(field) for key, field in pane.fields.items()}
    assert kinds == {"units": ChoiceField, "max_items": TextField, "ratio": TextField, "verbose": BoolField,
                     "tags": ListField, "limits": MapField, "server": GroupField}
    assert pane.fields["max_items"].help.text() == "How many results to show. — Default: 10"
    assert "How many results" in pane.fields["max_items"].edit.toolTip()
    assert pane.fields["max_items"].edit.text() == "10", "the default is shown until the user sets a value"
    assert pane.fields["units"].combo.currentText() == "metric"
    assert pane.fields["tags"].value() == ["news"]
    server = pane.fields["server"]
    assert isinstance(server, GroupField) and server.box.title() == "server"
    assert server.value() == {"host": "localhost", "port": 8080}
    assert not pane.save_button.isEnabled(), "nothing to save before an edit"
    close_window(qloop, w)


def test_a_bad_value_shows_the_error_beside_the_field_and_nothing_is_stored(qtbot, qloop, tmp_path,
                                                                          settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    pane = w.settings_pane
    field = pane.fields["max_items"]
    type_into(qtbot, field.edit, "ten")
    assert field.error.isVisible()
    assert field.error.text() == "must be a whole number, got 'ten'"
    assert pane.save_button.isEnabled(), "Save stays reachable and explains itself"
    assert not run(qloop, pane.save())
    assert "nothing was saved" in pane.status.text()
    assert w.manager.settings("tuned").values == {}
    type_into(qtbot, field.edit, "99")
    assert "99 is greater than the maximum of 50" in field.error.text()
    type_into(qtbot, field.edit, "20")
    assert not field.error.isVisible()
    pane.save_button.click()
    wait_until(qloop, lambda: "Saved" in pane.status.text())
    assert w.manager.settings("tuned").values == {"max_items": 20}
    assert field.edit.text() == "20"
    close_window(qloop, w)


def test_a_map_setting_is_edited_as_name_and_value_rows(qtbot, qloop, tmp_path, settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    pane = w.settings_pane
    limits = pane.fields["limits"]
    assert isinstance(limits, MapField)
    limits.add_row("search", "-1")
    assert "must be greater than or equal to 0" in limits.error.text() or "minimum" in limits.error.text()
    limits.table.item(0, 1).setText("5")
    limits.add_row("files/read", "30")
    assert not limits.error.isVisible()
    assert run(qloop, pane.save())
    assert w.manager.settings("tuned").values == {"limits": {"search": 5, "files/read": 30}}
    limits.table.setCurrentCell(0, 0)
    limits.remove_row()
    assert run(qloop, pane.save())
    assert w.manager.settings("tuned").values == {"limits": {"files/read": 30}}
    close_window(qloop, w)


def test_a_nested_group_says_which_property_is_wrong_and_lists_take_items(qtbot, qloop, tmp_path,
                                                                         settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    pane = w.settings_pane
    server = pane.fields["server"]
    assert isinstance(server, GroupField)
    port = server.children_fields["port"]
    type_into(qtbot, port.edit, "70000")
    assert port.error.isVisible() and "65535" in port.error.text(), "the error sits beside the port"
    assert not server.error.isVisible()
    type_into(qtbot, port.edit, "9090")
    tags = pane.fields["tags"]
    assert isinstance(tags, ListField)
    tags.add_item()
    tags.list.item(1).setText("weather")
    pane.fields["verbose"].box.setChecked(True)
    pane.fields["units"].combo.setCurrentText("imperial")
    assert run(qloop, pane.save())
    assert w.manager.settings("tuned").values == {"server": {"host": "localhost", "port": 9090},
                                                  "tags": ["news", "weather"], "verbose": True,
                                                  "units": "imperial"}
    close_window(qloop, w)


def test_reset_to_defaults_forgets_every_value_the_user_set(qtbot, qloop, tmp_path, settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    run(qloop, w.manager.set_setting("tuned", "max_items", 3))
    run(qloop, w.manager.set_setting("tuned", "units", "imperial"))
    w.apply_pending()
    pane = w.settings_pane
    wait_until(qloop, lambda: pane.fields["max_items"].edit.text() == "3"), "a change made elsewhere shows"
    assert pane.reset_button.isEnabled()
    pane.reset_button.click()
    wait_until(qloop, lambda: "Reset to defaults" in pane.status.text())
    assert w.manager.settings("tuned").values == {}
    assert pane.fields["max_items"].edit.text() == "10"
    assert pane.fields["units"].combo.currentText() == "metric"
    close_window(qloop, w)


def test_unsaved_edits_survive_a_change_event(qtbot, qloop, tmp_path, settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings)
    pane = w.settings_pane
    type_into(qtbot, pane.fields["ratio"].edit, "0.75")
    run(qloop, w.manager.set_setting("tuned", "max_items", 7))  # the CLI changes another setting meanwhile
    w.apply_pending()
    assert pane.fields["ratio"].edit.text() == "0.75", "what the user typed is kept"
    pane.revert_button.click()
    assert pane.fields["ratio"].edit.text() == "0.5"
    close_window(qloop, w)


def test_a_plugin_without_a_schema_says_so(qtbot, qloop, tmp_path, settings) -> None:
    w = settings_window(qtbot, qloop, tmp_path, settings, select="plain-skills")
    pane = w.settings_pane
    assert pane.stack.currentIndex() == 1
    assert "declares no settings schema" in pane.message.text()
    assert not pane.save_button.isEnabled() and not pane.fields
    w.select_plugin("Broken_Plugin")
    assert "manifest is invalid" in pane.message.text(), "an unreadable manifest is said, not crashed on"
    close_window(qloop, w)


def test_the_rate_limiters_limits_are_saved_and_the_pane_says_it_reloads(qtbot, qloop, tmp_path,
                                                                         settings) -> None:
    home = demo_home(tmp_path)
    w = make_window(qtbot, qloop, home, settings, builtin=BUILTIN_PLUGINS)
    assert w.select_plugin("tool-rate-limiter") and w.show_view("Settings")
    pane = w.settings_pane
    assert "reloads the plugin" in pane.note.text()
    limits = pane.fields["tool_limits"]
    assert isinstance(limits, MapField)
    limits.add_row("search", "5")
    pane.setFocus()
    qtbot.keyClick(pane, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # Ctrl+S saves
    wait_until(qloop, lambda: "Saved" in pane.status.text())
    assert w.manager.settings("tool-rate-limiter").values == {"tool_limits": {"search": 5}}
    wait_until(qloop, lambda: w.manager.is_loaded("tool-rate-limiter"))
    close_window(qloop, w)


def test_an_editor_that_cannot_show_a_saved_value_is_refused_when_written() -> None:
    # Otherwise a setting would silently show nothing, and Save would store None.
    with pytest.raises(TypeError, match="must define set_value"):
        class ReadOnly(Field):
            def value(self) -> str:
                return "x"
