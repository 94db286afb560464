"""`aleph.plugin.json` / `plugin.json`: the TOML structure spelled as JSON.

`{"plugin": {...}, "capabilities": [...], "scope": {...}, ...}`; a flat object with the plugin
fields at the top (`{"id": ..., "capabilities": [...]}`) is accepted too. JSON ids must already
be valid (they are not derived from the name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aleph_gui.core.manifest.aleph_tables import PLUGIN_KEYS, from_document
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.manifest.reading import decode_json, read_json
from aleph_gui.core.manifest.validation import failed
from aleph_gui.core.manifest.wording import Collector, type_name
from aleph_gui.core.problems import Problem, error

FORMAT = "aleph-json"


def looks_like_claude_manifest(doc: Any) -> bool:
    """A root `plugin.json` written for Claude Code: a name but no `plugin` object and no `id`."""
    return isinstance(doc, dict) and "plugin" not in doc and "id" not in doc and "name" in doc


def load_json(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """The decoded JSON manifest, or None and one clear problem."""
    doc, problems = read_json(path, file)
    return _not_null(doc, problems, file)


def parse_json_text(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Decoded JSON manifest text, or None and one clear problem."""
    doc, problems = decode_json(text, file)
    return _not_null(doc, problems, file)


def _not_null(doc: Any, problems: list[Problem], file: str) -> tuple[Any, list[Problem]]:
    # A bare `null` would look like "unreadable" to callers; say what it is.
    if doc is None and not problems:
        return None, [error(file, "", "must hold a JSON object, got null")]
    return doc, problems


def parse_aleph_json(folder: Path, file: str, *, doc: Any = None, problems: list | None = None) -> ParseResult:
    """Parse `folder/file` (or `doc` and its read `problems`, when detection already read it)."""
    if doc is None and problems is None:
        doc, problems = load_json(folder / file, file)
    if doc is None:
        return failed(file, problems or [], folder, FORMAT)
    if not isinstance(doc, dict):
        return failed(file, [error(file, "", f"must hold a JSON object, got {type_name(doc)}")], folder, FORMAT)
    if looks_like_claude_manifest(doc):
        return failed(file, [error(file, "", "looks like a Claude Code manifest (it has \"name\" but no "
                                             "\"plugin\" object or \"id\"); move it to "
                                             ".claude-plugin/plugin.json, or add \"id\" for an Aleph plugin")],
                      folder, FORMAT)
    out = Collector(file)
    if "plugin" in doc:
        return from_document(doc, folder, out, fmt=FORMAT, manifest_file=file, style="json", derive_id=False)
    # Flat spelling: plugin fields at the top level, sections beside them.
    plugin = {k: v for k, v in doc.items() if k in PLUGIN_KEYS}
    rest = {k: v for k, v in doc.items() if k not in PLUGIN_KEYS}
    return from_document(rest, folder, out, fmt=FORMAT, manifest_file=file, style="json", derive_id=False,
                         plugin_section=plugin, plugin_where="")
