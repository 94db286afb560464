"""`aleph.plugin.toml` / `plugin.toml`: the design-document form and Aleph's real tables."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from aleph_gui.core.manifest.aleph_tables import from_document
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.manifest.reading import read_manifest_text
from aleph_gui.core.manifest.validation import failed
from aleph_gui.core.manifest.wording import Collector
from aleph_gui.core.problems import error

FORMAT = "aleph-toml"


@cache
def _toml_parser() -> tuple[Callable[[str], Any], type[Exception] | tuple[type[Exception], ...]]:
    """rtoml (Rust, ~10x faster: listing thousands of plugins stays quick), else the stdlib's tomllib."""
    try:
        import rtoml
    except ImportError:
        return tomllib.loads, tomllib.TOMLDecodeError
    return rtoml.loads, (rtoml.TomlParsingError, ValueError)


def parse_aleph_toml(folder: Path, file: str) -> ParseResult:
    """Parse `folder/file`; every problem is reported, nothing raises."""
    text, problems = read_manifest_text(folder / file, file)
    if text is None:
        return failed(file, problems, folder, FORMAT)
    loads, syntax_error = _toml_parser()
    try:
        doc = loads(text)
    except syntax_error as exc:
        # Both parsers name line and column, e.g. "... at line 3 column 5".
        return failed(file, [error(file, "", f"is not valid TOML: {exc}")], folder, FORMAT)
    except RecursionError:
        return failed(file, [error(file, "", "is not valid TOML: nested too deeply")], folder, FORMAT)
    if not isinstance(doc, dict):
        return failed(file, [error(file, "", "is not a TOML document")], folder, FORMAT)
    out = Collector(file)
    # Names in TOML are sanitised into ids the way Aleph does when no id is written.
    return from_document(doc, folder, out, fmt=FORMAT, manifest_file=file, style="toml", derive_id=True)

