"""`aleph.plugin.toml` / `plugin.toml`: the design-document form and Aleph's real tables."""

from __future__ import annotations

import tomllib
from pathlib import Path

from aleph_gui.core.manifest.common import Collector, failed, from_document, read_manifest_text
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.problems import error

FORMAT = "aleph-toml"


def parse_aleph_toml(folder: Path, file: str) -> ParseResult:
    """Parse `folder/file`; every problem is reported, nothing raises."""
    text, problems = read_manifest_text(folder / file, file)
    if text is None:
        return failed(file, problems, folder, FORMAT)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message already names line and column: "Expected '=' ... (at line 3, column 5)"
        return failed(file, [error(file, "", f"is not valid TOML: {exc}")], folder, FORMAT)
    out = Collector(file)
    # Names in TOML are sanitised into ids the way Aleph does when no id is written.
    return from_document(doc, folder, out, fmt=FORMAT, manifest_file=file, style="toml", derive_id=True)

