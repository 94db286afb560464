"""How a manifest's problems are worded: where (the field as the user wrote it) and what (value words).

Each parser maps its own spelling onto one canonical dict and remembers where each canonical field
came from (`SourceMap`), so every problem names the file, the field path *as written* and what was
expected, in the words a manifest author uses (`type_name`).
"""

from __future__ import annotations

from typing import Any

from aleph_gui.core.problems import Problem, error, warning

Loc = tuple[str | int, ...]

JSON_TYPE_WORDS = {"object": "a table/object", "array": "a list", "string": "text", "number": "a number",
                   "integer": "a whole number", "boolean": "true/false", "null": "null"}


def type_name(value: Any) -> str:
    """What a value is, in the words a manifest author uses."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    if value is None:
        return "null"
    return type(value).__name__


def json_type_words(json_types: Any) -> str:
    """`"integer"` -> "a whole number"; `["string", "null"]` -> "text or null"."""
    types = json_types if isinstance(json_types, list) else [json_types]
    return " or ".join(JSON_TYPE_WORDS.get(str(t), str(t)) for t in types)


def json_kind(value: Any) -> str:
    """The JSON word for a decoded value (object, list, string, ...), for JSON-only formats."""
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number")


def field_suffix(parts: Loc) -> str:
    """`("a", 0, "b")` -> `.a[0].b`."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


class SourceMap:
    """Where each canonical field came from, for error messages.

    `add(("capabilities", 3), "[[hooks]][0]")` makes a problem at canonical
    `("capabilities", 3, "priority")` read `[[hooks]][0].priority`.
    """

    def __init__(self, style: str) -> None:
        self.style = style  # "toml" or "json"
        self._prefixes: dict[Loc, str] = {}

    def add(self, canonical: Loc, written: str) -> None:
        self._prefixes[canonical] = written

    def render(self, loc: Loc) -> str:
        for cut in range(len(loc), 0, -1):
            base = self._prefixes.get(loc[:cut])
            if base is not None:
                return base + field_suffix(loc[cut:])
        return field_suffix(loc).lstrip(".")


class Spelling:
    """How field paths are written in one file format."""

    def __init__(self, style: str) -> None:
        self.style = style

    def table(self, name: str) -> str:
        return f"[{name}]" if self.style == "toml" else name

    def array_item(self, name: str, index: int) -> str:
        return f"[[{name}]][{index}]" if self.style == "toml" else f"{name}[{index}]"


class Collector:
    """Problems of one manifest file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def error(self, field: str, message: str) -> None:
        self.problems.append(error(self.file, field, message))

    def warning(self, field: str, message: str) -> None:
        self.problems.append(warning(self.file, field, message))

    def unknown_keys(self, table: dict[str, Any], known: frozenset[str], where: str,
                     hint: str = "") -> dict[str, Any]:
        """Warn about keys the format does not define; return the table without them."""
        kept: dict[str, Any] = {}
        for key, value in table.items():
            if key in known:
                kept[key] = value
            else:
                field = f"{where}.{key}" if where else key
                self.warning(field, f"unknown key '{key}' is ignored{hint}")
        return kept
