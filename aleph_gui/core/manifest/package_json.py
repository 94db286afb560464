"""`package.json` with an `"aleph"` key: npm metadata plus Aleph's plugin fields.

`name`/`version`/`description` come from package.json (id = `aleph.id`, else the package name
sanitised: `@org/x` -> `x`); `aleph` holds `{kind, entry, capabilities, scope, limits, config,
activation, shape}`, with `entry` defaulting to package.json `main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aleph_gui.core.manifest.aleph_json import load_json, parse_json_text
from aleph_gui.core.manifest.aleph_tables import from_document
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.manifest.reading import read_manifest_text
from aleph_gui.core.manifest.validation import failed
from aleph_gui.core.manifest.wording import Collector, type_name
from aleph_gui.core.problems import error

FORMAT = "package-json"
ALEPH_PLUGIN_KEYS = frozenset({"id", "name", "kind", "entry", "activation", "shape"})


def read_aleph_package(path: Path) -> dict[str, Any] | None:
    """The package.json document when it has an "aleph" key, else None (not an Aleph manifest).

    Read like every manifest (same limits); files that do not even contain the text "aleph" are not
    parsed at all.
    """
    text, _ = read_manifest_text(path, path.name)
    if text is None or '"aleph"' not in text:
        return None
    doc, _ = parse_json_text(text, path.name)
    return doc if isinstance(doc, dict) and "aleph" in doc else None


def parse_package_json(folder: Path, file: str = "package.json", doc: Any = None) -> ParseResult:
    """Parse `folder/file` (or `doc`, when detection already read it)."""
    if doc is None:
        doc, problems = load_json(folder / file, file)
        if doc is None:
            return failed(file, problems, folder, FORMAT)
    if not isinstance(doc, dict):
        return failed(file, [error(file, "", f"must hold a JSON object, got {type_name(doc)}")], folder, FORMAT)
    aleph = doc.get("aleph")
    if not isinstance(aleph, dict):
        return failed(file, [error(file, "aleph", f"must be an object with the plugin's fields, "
                                                  f"got {type_name(aleph)}")], folder, FORMAT)
    author: Any = doc.get("author")
    defaults: dict[str, Any] = {
        key: doc[key] for key in ("name", "version", "description", "homepage") if key in doc
    }
    if isinstance(author, dict):
        author = author.get("name")
    if isinstance(author, str):
        defaults["author"] = author
    if "main" in doc:
        defaults["entry"] = doc["main"]
    plugin = {k: v for k, v in aleph.items() if k in ALEPH_PLUGIN_KEYS}
    if "name" not in plugin and isinstance(doc.get("name"), str):
        # npm names (`@org/pkg`) are not display names; the id is sanitised from them.
        plugin["name"] = doc["name"]
    rest = {k: v for k, v in aleph.items() if k not in ALEPH_PLUGIN_KEYS}
    out = Collector(file)
    return from_document(rest, folder, out, fmt=FORMAT, manifest_file=file, style="json", derive_id=True,
                         plugin_section=plugin, plugin_where="aleph", package_defaults=defaults)
