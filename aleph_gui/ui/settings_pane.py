"""The Settings tab: a form generated from the plugin's `config_schema`, checked while you type with the
same rules the core applies before it stores a value, saved through the manager (the store that
`aleph-ext config` reads and writes).

Edits stay in the form until Save; a change event from elsewhere (the CLI, another save) refreshes
the form only while it holds no unsaved edit, so nothing typed is ever overwritten.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from aleph_gui.core.errors import AlephError
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.core.json_schema import config_errors
from aleph_gui.core.manager import ExtensionManager
from aleph_gui.core.settings import Settings, SettingsError
from aleph_gui.ui import theme
from aleph_gui.ui.icons import icon
from aleph_gui.ui.schema_form import (
    Field,
    TextField,
    label_for,
    make_field,
    shown,
)

log = logging.getLogger(__name__)

OK_STYLE = "color: #2e8b57;"
EMPTY = object()  # an emptied field: the setting goes back to its default


def errors_by_key(messages: list[str], keys: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Split the check's sentences ("'key.sub': text") by the setting they name; the rest are general."""
    out: dict[str, list[str]] = {}
    general: list[str] = []
    for message in messages:
        if message.startswith("'") and "': " in message:
            path, text = message[1:].split("': ", 1)
            key = next((k for k in sorted(keys, key=len, reverse=True)
                        if path == k or path.startswith((k + ".", k + "["))), None)
            if key is not None:
                rest = path[len(key):].lstrip(".")
                out.setdefault(key, []).append(f"{rest}: {text}" if rest else text)
                continue
        general.append(message)
    return out, general


class SettingsPane(QWidget):
    """`set_plugin(info)` shows a plugin's settings; `saved` fires after a save reached the store."""

    saved = Signal(str)  # plugin id

    def __init__(self, manager: ExtensionManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self.info: PluginInfo | None = None
        self.current: Settings | None = None
        self.fields: dict[str, Field] = {}
        self._baseline: dict[str, Any] = {}
        self.busy = False

        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setAccessibleName("How settings reach the plugin")
        self.message = QLabel(self)  # empty / error states of the whole pane
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.message.setAccessibleName("Settings status")
        self.readonly = QTreeWidget(self)
        self.readonly.setAccessibleName("Effective settings (read-only)")
        self.readonly.setHeaderLabels(["Setting", "Value", "From"])
        self.readonly.setRootIsDecorated(False)
        self.form_host = QWidget(self)
        host_layout = QVBoxLayout(self.form_host)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        host_layout.addLayout(self.form)
        host_layout.addStretch(1)  # rows keep their height; the space left stays below them
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.form_host)
        self.scroll.setAccessibleName("Settings form")
        empty = QWidget(self)
        empty_layout = QVBoxLayout(empty)
        empty_layout.setContentsMargins(0, 0, 0, 0)
        empty_layout.addWidget(self.message)
        empty_layout.addWidget(self.readonly, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(empty)

        self.problems = QLabel(self)
        self.problems.setWordWrap(True)
        self.problems.setStyleSheet(theme.ERROR_STYLE)
        self.problems.setAccessibleName("Settings problems")
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Save outcome")
        self.save_button = QPushButton(icon("enabled"), "&Save", self)
        self.save_button.setAccessibleName("Save the settings")
        self.save_button.setToolTip("Check and store the settings (Ctrl+S)")
        self.revert_button = QPushButton("Und&o changes", self)
        self.revert_button.setAccessibleName("Undo the changes not saved yet")
        self.reset_button = QPushButton(icon("reload"), "Reset to &defaults", self)
        self.reset_button.setAccessibleName("Reset every setting to the plugin's default")
        self.save_button.clicked.connect(self._save_clicked)
        self.revert_button.clicked.connect(self.revert)
        self.reset_button.clicked.connect(self._reset_clicked)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save_button.click,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.problems)
        layout.addLayout(buttons)
        self.set_plugin(None)

    # -- showing ------------------------------------------------------------------------------
    def set_plugin(self, info: PluginInfo | None) -> None:
        same = info is not None and self.info is not None and info.id == self.info.id
        self.info = info
        if info is None:
            self._empty("Select a plugin to see its settings.")
            self.note.setText("")
            return
        self.note.setText(self._how_it_applies(info))
        if same and (self.busy or self.dirty()):
            return  # never overwrite what the user is typing
        if info.state == "invalid":
            self.current = None
            self._empty("⚠ This plugin's manifest is invalid (see the Problems tab), so its settings cannot be "
                        "read.")
            return
        try:
            fresh = self.manager.settings(info.id)
        except AlephError as exc:
            self.current = None
            self._empty(f"⚠ {html.escape(exc.message)}")
            return
        if same and fresh == self.current and self.fields:
            return
        self.show_settings(fresh)

    def show_settings(self, settings: Settings) -> None:
        previous, self.current = self.current, settings
        self.problems.setText("")
        if previous is not None and self.fields and previous.plugin == settings.plugin \
                and previous.schema == settings.schema and previous.keys == settings.keys:
            self._load_values()  # same form: new values only, so focus and scroll stay where they are
            return
        schema_props = (settings.schema.get("properties") or {}) if settings.schema else {}
        if not settings.schema:
            self._no_schema(settings)
            return
        self._clear_form()
        self.fields = {}
        for key in settings.keys:
            spec = schema_props.get(key)
            spec = spec if isinstance(spec, dict) else {}
            field = make_field(key, spec, self.form_host)
            field.changed.connect(self.check)
            self.fields[key] = field
            label = label_for(key, spec, field)
            if key in (settings.schema.get("required") or []):
                label.setText(label.text().rstrip(":") + " *:")
            self.form.addRow(label, field)
        if not self.fields:
            self._empty("This plugin's settings schema describes no setting.")
            return
        self.stack.setCurrentWidget(self.scroll)
        self._load_values()
        self.status.setText("")

    def _effective(self, key: str) -> Any:
        settings = self.current
        assert settings is not None
        return settings.effective[key] if key in settings.effective else self._schema_default(key)

    def _load_values(self) -> None:
        for key, field in self.fields.items():
            field.blockSignals(True)
            field.set_value(self._effective(key))
            field.blockSignals(False)
        # what each editor shows now is "unchanged": a group whose setting is unset shows its properties'
        # defaults without that counting as an edit
        self._baseline = {key: self._held(field) for key, field in self.fields.items()}
        self.check()

    def _no_schema(self, settings: Settings) -> None:
        values = settings.effective
        text = "This plugin declares no settings schema, so the window cannot offer a form for it."
        if values:
            text += " Its settings, read-only here (aleph-ext config changes them):"
        self._empty(text)
        for key, value in values.items():
            origin = "you" if key in settings.values else "its manifest"
            self.readonly.addTopLevelItem(QTreeWidgetItem([key, shown(value), origin]))
        self.readonly.setVisible(bool(values))

    def _empty(self, text: str) -> None:
        self._clear_form()
        self.fields = {}
        self.message.setText(text)
        self.readonly.clear()
        self.readonly.hide()
        self.stack.setCurrentIndex(1)
        self.problems.setText("")
        self.status.setText("")
        self._refresh_buttons()

    def _clear_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)

    @staticmethod
    def _how_it_applies(info: PluginInfo) -> str:
        if info.kind == "nodejs":
            how = "A saved change reaches the running plugin at once (Node.js plugins read their settings live)."
        elif info.kind == "wasm":
            how = ("Saving reloads the plugin: a WASM plugin reads its settings when it starts. The running "
                   "version serves calls until the new one is ready.")
        else:
            how = "This plugin runs no code; its settings are stored for the tools that read them."
        return f"{how} Stored in the same place as aleph-ext config {info.id}."

    # -- checking -------------------------------------------------------------------------------
    def _held(self, field: Field) -> Any:
        """What one editor holds; an emptied number field means "the default" (EMPTY)."""
        if isinstance(field, TextField) and field.kind in ("integer", "number", "json") \
                and not field.edit.text().strip():
            return EMPTY
        return field.value()

    def changes(self) -> dict[str, Any]:
        """The settings the user changed since the form was filled (EMPTY = back to the default)."""
        return {key: held for key, field in self.fields.items()
                if (held := self._held(field)) != self._baseline.get(key)}

    def dirty(self) -> bool:
        return self.current is not None and bool(self.fields) and bool(self.changes())

    def candidate(self) -> dict[str, Any]:
        """The settings as they would be stored after Save (what the check looks at)."""
        settings = self.current
        assert settings is not None
        out = dict(settings.effective)
        for key, value in self.changes().items():
            if value is EMPTY:
                out.pop(key, None)
                if key in settings.defaults:
                    out[key] = settings.defaults[key]
            else:
                out[key] = value
        return out

    def check(self) -> list[str]:
        """Run the core's check on what the form holds; put each problem beside its setting."""
        settings = self.current
        if settings is None or not settings.schema:
            return []
        messages = config_errors(settings.schema, self.candidate())
        by_key, general = errors_by_key(messages, list(self.fields))
        for key, field in self.fields.items():
            field.set_error(by_key.get(key, []))
        self.problems.setText("; ".join(general))
        self._refresh_buttons()
        return messages

    def _refresh_buttons(self) -> None:
        has_form = bool(self.fields)
        dirty = self.dirty()
        self.save_button.setEnabled(has_form and dirty and not self.busy)
        self.revert_button.setEnabled(has_form and dirty and not self.busy)
        self.reset_button.setEnabled(has_form and not self.busy and bool(self.current and self.current.values))
        if has_form and dirty and not self.busy:
            self._say("Unsaved changes.", "")

    def _say(self, text: str, style: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)

    def revert(self) -> None:
        self._load_values()
        self._say("", "")

    # -- saving ----------------------------------------------------------------------------------
    @asyncSlot()
    async def _save_clicked(self) -> None:
        await self.save()

    @asyncSlot()
    async def _reset_clicked(self) -> None:
        await self.reset_to_defaults()

    async def save(self) -> bool:
        """Check, then store every changed setting; nothing is stored while the form has a problem."""
        info, settings = self.info, self.current
        if info is None or settings is None or self.busy:
            return False
        messages = self.check()
        if messages:
            first = next((f for f in self.fields.values() if f.error.isVisible()), None)
            if first is not None:
                first.focus_target().setFocus()
            self._say("✖ Fix the marked settings first; nothing was saved.", theme.ERROR_STYLE)
            return False
        plan: list[tuple[str, Any, bool]] = []  # (key, value, unset)
        for key, value in self.changes().items():
            default = settings.defaults.get(key, self._schema_default(key))
            if value is EMPTY or value == default:
                if key in settings.values:
                    plan.append((key, None, True))  # back to the default (and future defaults)
                elif value is not EMPTY and key not in settings.defaults:
                    plan.append((key, value, False))
                continue
            plan.append((key, value, False))
        return await self._apply(info.id, plan, "Saved")

    async def reset_to_defaults(self) -> bool:
        info, settings = self.info, self.current
        if info is None or settings is None or self.busy:
            return False
        return await self._apply(info.id, [(key, None, True) for key in settings.values], "Reset to defaults")

    def _schema_default(self, key: str) -> Any:
        spec = (self.current.schema.get("properties") or {}).get(key) if self.current else None
        return spec.get("default") if isinstance(spec, dict) else None

    async def _apply(self, plugin_id: str, plan: list[tuple[str, Any, bool]], done: str) -> bool:
        self.busy = True
        self._refresh_buttons()
        self._say("Saving…", "")
        ok = True
        try:
            for key, value, unset in plan:
                if unset:
                    await self.manager.unset_setting(plugin_id, key)
                else:
                    await self.manager.set_setting(plugin_id, key, value)
        except SettingsError as exc:
            ok = False
            field = next((f for k, f in self.fields.items() if f"'{k}'" in exc.message), None)
            if field is not None:
                field.set_error([exc.message])
                field.focus_target().setFocus()
            self._say(f"✖ Not saved: {exc}", theme.ERROR_STYLE)
        except AlephError as exc:
            ok = False
            self._say(f"✖ Not saved: {exc}", theme.ERROR_STYLE)
        except Exception as exc:  # a bug below must not take the window down
            ok = False
            log.exception("saving settings of %s failed", plugin_id)
            self._say(f"✖ Not saved: unexpected {type(exc).__name__}: {exc}", theme.ERROR_STYLE)
        finally:
            self.busy = False
        if self.info is not None and self.info.id == plugin_id:
            try:
                fresh = self.manager.settings(plugin_id)
            except AlephError:
                fresh = None
            if ok and fresh is not None:
                self.show_settings(fresh)
                changed = len(plan)
                self._say(f"✔ {done}." if changed else "Nothing to save.", OK_STYLE)
            else:
                self._refresh_buttons()
        if ok:
            self.saved.emit(plugin_id)
        return ok
