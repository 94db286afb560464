"""Editors generated from a JSON Schema, one per setting: text, number, whole number, on/off, a choice,
a list of values, a table of named values, a group of settings — and raw JSON for anything else.

Each editor shows what it holds, says its problems beside itself (`set_error`) and reports edits
(`changed`). It never checks values itself: the settings pane runs the same check the core runs
before storing (`json_schema.config_errors`) and hands each editor its part of the answer.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from aleph_gui.ui import theme

SCALARS = ("string", "number", "integer", "boolean")


def schema_type(schema: dict[str, Any]) -> str:
    """The one type an editor is made for ("" when the schema names none or several)."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if isinstance(kind, str):
        return kind
    if "properties" in schema:
        return "object"
    return ""


def shown(value: Any) -> str:
    """A value as the user reads it in a field (text as is, anything else as JSON)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_scalar(text: str, kind: str) -> Any:
    """What the user typed, as the schema's type when it reads as one; otherwise the text itself,
    so the schema check names the mistake ("must be a whole number, got 'ten'")."""
    if kind in ("integer", "number"):
        stripped = text.strip()
        for convert in (int, float):
            try:
                return convert(stripped)
            except ValueError:
                continue
        return text
    if kind == "boolean":
        low = text.strip().lower()
        return {"true": True, "false": False}.get(low, text)
    if kind == "string":
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class Field(QWidget):
    """One setting's editor: `value()`, `set_value()`, `set_error()`, and `changed` on every edit.

    Every editor defines `value` and `set_value`; a class that leaves one out is refused when it is made
    (Qt's metaclass does not enforce `abstractmethod` the way ABCMeta would)."""

    changed = Signal()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        left = [name for name in ("value", "set_value") if getattr(getattr(cls, name), "__isabstractmethod__", False)]
        if left:
            raise TypeError(f"{cls.__name__} must define {' and '.join(left)}")

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.schema = schema
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_STYLE)
        self.error.setAccessibleName(f"Problem with {key}")
        self.error.hide()
        self.help = help_label(help_for(schema), self)
        self.help.setAccessibleName(f"About {key}")
        self.help.setVisible(bool(self.help.text()))

    @abstractmethod
    def value(self) -> Any:
        """The setting as the editor holds it now (what Save stores)."""

    @abstractmethod
    def set_value(self, value: Any) -> None:
        """Show `value` (a saved setting, or the schema's default)."""

    def focus_target(self) -> QWidget:
        return self

    def set_error(self, messages: list[str]) -> None:
        self.error.setText("; ".join(messages))
        self.error.setVisible(bool(messages))

    def _layout(self, editor: QWidget, *extra: QWidget) -> QVBoxLayout:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(editor, 1)
        for w in extra:
            row.addWidget(w)
        outer.addLayout(row)
        outer.addWidget(self.help)
        outer.addWidget(self.error)
        return outer


class TextField(Field):
    """Text, a number or a whole number typed into a line (the check says what is wrong with it)."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        self.kind = schema_type(schema) or "json"
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName(key)
        if self.kind in ("integer", "number"):
            self.edit.setInputMethodHints(Qt.InputMethodHint.ImhFormattedNumbersOnly)
            self.edit.setPlaceholderText("a whole number" if self.kind == "integer" else "a number")
        elif self.kind == "json":
            self.edit.setPlaceholderText("a JSON value")
        self.edit.textEdited.connect(lambda _t: self.changed.emit())
        self._layout(self.edit)

    def value(self) -> Any:
        return parse_scalar(self.edit.text(), self.kind)

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else shown(value))

    def focus_target(self) -> QWidget:
        return self.edit


class BoolField(Field):
    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        self.box = QCheckBox(self)
        self.box.setAccessibleName(key)
        self.box.toggled.connect(lambda _on: self.changed.emit())
        self._layout(self.box)

    def value(self) -> Any:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def focus_target(self) -> QWidget:
        return self.box


class ChoiceField(Field):
    """`enum`: a combo box of the allowed values."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        self.combo = QComboBox(self)
        self.combo.setAccessibleName(key)
        for option in schema.get("enum") or []:
            self.combo.addItem(shown(option), json.dumps(option))
        self.combo.currentIndexChanged.connect(lambda _n: self.changed.emit())
        self._layout(self.combo)

    def value(self) -> Any:
        data = self.combo.currentData()
        return json.loads(data) if data is not None else None

    def set_value(self, value: Any) -> None:
        n = self.combo.findData(json.dumps(value))
        if n < 0 and value is not None:  # a stored value the schema no longer lists: show it, the check flags it
            self.combo.addItem(shown(value), json.dumps(value))
            n = self.combo.count() - 1
        self.combo.setCurrentIndex(n)

    def focus_target(self) -> QWidget:
        return self.combo


def _tool(parent: QWidget, text: str, name: str) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setAccessibleName(name)
    button.setToolTip(name)
    return button


def _add_remove(field: Field, what: str, add: Callable[[], None],
                remove: Callable[[], None]) -> tuple[QWidget, QToolButton, QToolButton]:
    """The Add / Remove column beside a list or a table of `what`s (item, row)."""
    add_button = _tool(field, "Add", f"Add {'an' if what[0] in 'aeiou' else 'a'} {what} to {field.key}")
    remove_button = _tool(field, "Remove", f"Remove the selected {what} of {field.key}")
    add_button.clicked.connect(lambda: add())
    remove_button.clicked.connect(lambda: remove())
    buttons = QWidget(field)
    column = QVBoxLayout(buttons)
    column.setContentsMargins(0, 0, 0, 0)
    column.addWidget(add_button)
    column.addWidget(remove_button)
    column.addStretch(1)
    return buttons, add_button, remove_button


class ListField(Field):
    """An array of scalars: one editable line per item, Add / Remove (Delete removes the current item)."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        items = schema.get("items")
        self.item_kind = schema_type(items) if isinstance(items, dict) else "json"
        self.list = QListWidget(self)
        self.list.setAccessibleName(f"{key} (list)")
        self.list.setMaximumHeight(110)
        self.list.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed
                                  | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.list.itemChanged.connect(lambda _i: self.changed.emit())
        buttons, self.add_button, self.remove_button = _add_remove(self, "item", self.add_item, self.remove_item)
        self._layout(self.list, buttons)

    def _append(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        self.list.addItem(item)
        return item

    def add_item(self) -> None:
        item = self._append("")
        self.list.setCurrentItem(item)
        self.list.editItem(item)
        self.changed.emit()

    def remove_item(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self.changed.emit()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Delete and self.list.hasFocus():
            self.remove_item()
            return
        super().keyPressEvent(event)

    def value(self) -> Any:
        return [parse_scalar(self.list.item(n).text(), self.item_kind) for n in range(self.list.count())]

    def set_value(self, value: Any) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for item in value if isinstance(value, list) else []:
            self._append(shown(item))
        self.list.blockSignals(False)

    def focus_target(self) -> QWidget:
        return self.list


class MapField(Field):
    """An object of named values (`additionalProperties`): Name / Value rows, Add / Remove."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        extra = schema.get("additionalProperties")
        self.value_kind = schema_type(extra) if isinstance(extra, dict) else "json"
        self.table = QTableWidget(0, 2, self)
        self.table.setAccessibleName(f"{key} (name and value rows)")
        self.table.setHorizontalHeaderLabels(["Name", "Value"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(130)
        self.table.setTabKeyNavigation(False)
        self.table.itemChanged.connect(lambda _i: self.changed.emit())
        buttons, self.add_button, self.remove_button = _add_remove(self, "row", self.add_row, self.remove_row)
        self._layout(self.table, buttons)

    def _append(self, name: str, value: str) -> int:
        n = self.table.rowCount()
        self.table.insertRow(n)
        self.table.setItem(n, 0, QTableWidgetItem(name))
        self.table.setItem(n, 1, QTableWidgetItem(value))
        return n

    def add_row(self, name: str = "", value: str = "") -> None:
        n = self._append(name, value)
        self.table.setCurrentCell(n, 0)
        if not name:
            self.table.editItem(self.table.item(n, 0))
        self.changed.emit()

    def remove_row(self) -> None:
        n = self.table.currentRow()
        if n >= 0:
            self.table.removeRow(n)
            self.changed.emit()

    def value(self) -> Any:
        out: dict[str, Any] = {}
        for n in range(self.table.rowCount()):
            name_item, value_item = self.table.item(n, 0), self.table.item(n, 1)
            name = name_item.text().strip() if name_item else ""
            if name:
                out[name] = parse_scalar(value_item.text() if value_item else "", self.value_kind)
        return out

    def set_value(self, value: Any) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for name, item in (value.items() if isinstance(value, dict) else []):
            self._append(str(name), shown(item))
        self.table.blockSignals(False)

    def focus_target(self) -> QWidget:
        return self.table


class JsonField(Field):
    """Anything the other editors cannot show (arrays of objects, `oneOf`, …) as JSON text."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        self.edit = QPlainTextEdit(self)
        self.edit.setAccessibleName(f"{key} (JSON)")
        self.edit.setTabChangesFocus(True)
        self.edit.setMaximumHeight(90)
        self.edit.textChanged.connect(self.changed.emit)
        self._layout(self.edit)

    def value(self) -> Any:
        return parse_scalar(self.edit.toPlainText(), "json")

    def set_value(self, value: Any) -> None:
        self.edit.blockSignals(True)
        self.edit.setPlainText(json.dumps(value, indent=2, ensure_ascii=False) if value is not None else "")
        self.edit.blockSignals(False)

    def focus_target(self) -> QWidget:
        return self.edit


class GroupField(Field):
    """A nested object with its own properties: a group box holding one editor per property."""

    def __init__(self, key: str, schema: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(key, schema, parent)
        self.box = QGroupBox(str(schema.get("title") or key), self)
        self.box.setAccessibleName(f"{key} (group)")
        form = QFormLayout(self.box)
        self.children_fields: dict[str, Field] = {}
        for name, sub in (schema.get("properties") or {}).items():
            sub = sub if isinstance(sub, dict) else {}
            field = make_field(name, sub, self.box)
            field.changed.connect(self.changed.emit)
            self.children_fields[name] = field
            form.addRow(label_for(name, sub, field), field)
        self._extra: dict[str, Any] = {}  # keys the stored value holds that the schema does not describe
        self._layout(self.box)

    def value(self) -> Any:
        return {**self._extra, **{name: f.value() for name, f in self.children_fields.items()}}

    def set_value(self, value: Any) -> None:
        value = value if isinstance(value, dict) else {}
        self._extra = {k: v for k, v in value.items() if k not in self.children_fields}
        for name, field in self.children_fields.items():
            sub = field.schema
            field.set_value(value.get(name, sub.get("default")))

    def set_error(self, messages: list[str]) -> None:
        """Messages that start with a property's name go beside that property."""
        mine: list[str] = []
        routed: dict[str, list[str]] = {}
        for message in messages:
            head, _, rest = message.partition(": ")
            name = head.split(".", 1)[0].split("[", 1)[0]
            if name in self.children_fields and rest:
                tail = head[len(name):].lstrip(".")
                routed.setdefault(name, []).append(f"{tail}: {rest}" if tail else rest)
            else:
                mine.append(message)
        for name, field in self.children_fields.items():
            field.set_error(routed.get(name, []))
        super().set_error(mine)

    def focus_target(self) -> QWidget:
        first = next(iter(self.children_fields.values()), None)
        return first.focus_target() if first is not None else self


def make_field(key: str, schema: dict[str, Any], parent: QWidget | None = None) -> Field:
    """The editor for one property's schema."""
    kind = schema_type(schema)
    if "enum" in schema and isinstance(schema["enum"], list):
        return ChoiceField(key, schema, parent)
    if kind == "boolean":
        return BoolField(key, schema, parent)
    if kind in ("string", "number", "integer"):
        return TextField(key, schema, parent)
    if kind == "array":
        items = schema.get("items")
        if not isinstance(items, dict) or schema_type(items) in SCALARS:
            return ListField(key, schema, parent)
    if kind == "object":
        if schema.get("properties"):
            return GroupField(key, schema, parent)
        if isinstance(schema.get("additionalProperties"), dict):
            return MapField(key, schema, parent)
    return JsonField(key, schema, parent)


def help_for(schema: dict[str, Any]) -> str:
    """The description and the default, as the line under an editor."""
    parts = [str(schema["description"])] if schema.get("description") else []
    if "default" in schema:
        parts.append(f"Default: {shown(schema['default'])}")
    return " — ".join(parts)


def help_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setStyleSheet("color: palette(placeholder-text);")
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def label_for(key: str, schema: dict[str, Any], field: Field) -> QLabel:
    title = str(schema.get("title") or key)
    label = QLabel(f"{title}:", field.parentWidget())
    label.setBuddy(field.focus_target())
    tip = help_for(schema)
    if tip:
        label.setToolTip(tip)
        field.focus_target().setToolTip(tip)
        field.focus_target().setAccessibleDescription(tip)
    return label
