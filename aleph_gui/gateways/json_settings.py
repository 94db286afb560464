"""Another program's JSON settings file, edited the way its owner would: same layout, backups, atomic writes.

The installer rewrites files Claude Code and Claude Desktop own (`~/.claude.json`, `settings.json`, ...). A file
is read as bytes, parsed, changed in memory and written back in the layout it had (indent, key separator,
trailing newline, BOM, line endings, `\\u00e9`-style escapes), so an untouched key keeps its bytes in the common case.
Key order is kept (dicts keep insertion order). Before a file changes, its bytes are copied next to it as
`<name>.aleph-backup-<UTC yyyymmddThhmmss>`; a file that did not exist gets a `<...>.absent` marker instead,
listing the folders that were created for it, so an uninstall can put things back exactly.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aleph_gui.core.errors import AlephError

BOM = b"\xef\xbb\xbf"
BACKUP_TAG = ".aleph-backup-"
ABSENT = ".absent"


class SettingsFileError(AlephError):
    """A settings file cannot be read or written; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass(frozen=True)
class JsonStyle:
    indent: int | str | None = 2
    key_separator: str = ": "
    item_separator: str = ","
    trailing_newline: bool = True
    ensure_ascii: bool = False
    bom: bool = False
    crlf: bool = False


@dataclass
class JsonFile:
    """One file as found: whether it exists, its exact bytes and its document (an object)."""

    path: Path
    exists: bool
    raw: bytes
    data: dict[str, Any]
    style: JsonStyle = field(default_factory=JsonStyle)


def detect_style(text: str) -> JsonStyle:
    """The layout a file was written in, read from its text."""
    indent: int | str | None = None
    first = re.search(r"\n([ \t]+)\S", text)
    if first:
        ws = first.group(1)
        indent = "\t" if "\t" in ws else len(ws)
    # `"key":value` everywhere means a compact writer; anything else gets the usual `": "`.
    key_sep = ":" if re.search(r'":\S', text) and not re.search(r'":\s', text) else ": "
    # One-line documents: Python's default `, ` unless the writer packed items with a bare `,`.
    item_sep = "," if indent is not None or (re.search(r",\S", text) and not re.search(r", ", text)) else ", "
    return JsonStyle(indent=indent, key_separator=key_sep, item_separator=item_sep,
                     trailing_newline=text.endswith("\n"),
                     ensure_ascii=text.isascii() and re.search(r"\\u[0-9a-fA-F]{4}", text) is not None,
                     crlf="\r\n" in text)


def load(path: Path) -> JsonFile:
    """Read a settings file; a missing or blank file is an empty object. Raises SettingsFileError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return JsonFile(path, False, b"", {})
    except OSError as exc:
        raise SettingsFileError(f"cannot read {path} ({exc.strerror or exc}); nothing was changed") from exc
    bom = raw.startswith(BOM)
    try:
        text = raw[len(BOM):].decode("utf-8") if bom else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SettingsFileError(f"{path} is not UTF-8 text (byte {exc.start}); fix or move it, "
                                f"then run this again — nothing was changed") from exc
    if not text.strip():
        return JsonFile(path, True, raw, {}, JsonStyle(bom=bom))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsFileError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                                f"fix or move it, then run this again — nothing was changed") from exc
    if not isinstance(data, dict):
        raise SettingsFileError(f"{path} holds a JSON {type(data).__name__}, not an object; "
                                f"fix or move it, then run this again — nothing was changed")
    style = detect_style(text)
    return JsonFile(path, True, raw, data, JsonStyle(**{**style.__dict__, "bom": bom}))


def render(data: dict[str, Any], style: JsonStyle) -> bytes:
    """`data` as the file's bytes, in `style`."""
    text = json.dumps(data, indent=style.indent, ensure_ascii=style.ensure_ascii,
                      separators=(style.item_separator, style.key_separator))
    if style.trailing_newline:
        text += "\n"
    if style.crlf:
        text = text.replace("\n", "\r\n")
    return (BOM if style.bom else b"") + text.encode("utf-8")


def _create(path: Path, content: bytes, mode: int | None) -> None:
    """Write a new file never readable beyond `mode`, not even for a moment (`~/.claude.json` holds tokens).

    `mode=None`: a fresh file, with what the umask allows, like any other program's.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    if mode is not None:
        os.chmod(path, mode)  # exactly the original's bits, which the umask may have narrowed


def _mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def write_atomic(path: Path, content: bytes) -> None:
    """Replace the file in one step (a reader never sees half a file); follows a symlink to its target."""
    target = path.resolve() if path.is_symlink() else path
    tmp = target.with_name(f".{target.name}.aleph-tmp-{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        _create(tmp, content, _mode(target))
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SettingsFileError(f"cannot write {path} ({exc.strerror or exc})") from exc


# -- backups ------------------------------------------------------------------------------------------

_STAMP = re.compile(r"^(\d{8}T\d{6})(?:-(\d+))?(\.absent)?$")


def _free_name(path: Path, suffix: str) -> Path:
    """`<name>.aleph-backup-<UTC stamp>[-n]<suffix>`, with n counting up while the name (either kind) is taken."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    n = 1
    while True:
        base = f"{path.name}{BACKUP_TAG}{stamp}{'' if n == 1 else f'-{n}'}"
        if not any(path.with_name(base + s).exists() for s in ("", ABSENT)):
            return path.with_name(base + suffix)
        n += 1


def backup(path: Path, raw: bytes) -> Path:
    """Copy a file's bytes next to it, under a fresh timestamped name, with the file's permissions."""
    dest = _free_name(path, "")
    try:
        _create(dest, raw, _mode(path))
    except OSError as exc:
        raise SettingsFileError(f"cannot back up {path} to {dest} ({exc.strerror or exc}); "
                                f"nothing was changed") from exc
    return dest


def mark_absent(path: Path, created_folders: list[Path]) -> Path:
    """Record that `path` did not exist (and which folders were made for it) before it was created."""
    dest = _free_name(path, ABSENT)
    note = {"absent": str(path), "created_folders": [str(f) for f in created_folders]}
    try:
        _create(dest, (json.dumps(note, indent=2) + "\n").encode("utf-8"), None)
    except OSError as exc:
        raise SettingsFileError(f"cannot write {dest} ({exc.strerror or exc}); {path} was not created") from exc
    return dest


def backups(path: Path) -> list[Path]:
    """The backups and absence markers of `path`, newest first."""
    prefix = path.name + BACKUP_TAG
    found: list[tuple[str, int, Path]] = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return []
    for sibling in siblings:
        if not sibling.name.startswith(prefix):
            continue
        m = _STAMP.match(sibling.name[len(prefix):])
        if m:
            found.append((m.group(1), int(m.group(2) or 1), sibling))
    return [p for _, _, p in sorted(found, key=lambda t: (t[0], t[1]), reverse=True)]


def is_absence_marker(path: Path) -> bool:
    return path.name.endswith(ABSENT)


def absent_folders(marker: Path) -> list[Path]:
    """The folders an absence marker says were created (deepest first)."""
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
        folders = [Path(f) for f in doc.get("created_folders", []) if isinstance(f, str)]
    except (OSError, ValueError, AttributeError):
        return []
    return sorted(folders, key=lambda p: len(p.parts), reverse=True)
