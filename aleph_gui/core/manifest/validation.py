"""Validating a canonical manifest dict: types (pydantic) and the rules beyond types, in one pass.

Both run on every manifest, whatever the other finds: a manifest with a wrong type, a bad id and a
missing entry file reports all three at once, each at the field as the user wrote it, instead of
one round of fixes revealing the next.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aleph_gui.core.json_schema import config_schema_problems, parameters_problem
from aleph_gui.core.manifest.ids import ID_RULE, is_valid_id, sanitize_id
from aleph_gui.core.manifest.model import ParseResult, PluginManifest
from aleph_gui.core.manifest.paths import path_escape_reason
from aleph_gui.core.manifest.wording import Collector, SourceMap, type_name
from aleph_gui.core.problems import Problem, has_errors

log = logging.getLogger(__name__)

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
CODE_KINDS = ("wasm", "nodejs")  # kinds whose entry file is run, so it must exist


def _translate(err: dict[str, Any]) -> str:
    """One pydantic error -> what was expected, in plain words."""
    kind = err.get("type", "")
    value = err.get("input")
    got = f" (got {type_name(value)} {value!r})" if not isinstance(value, dict | list) else \
        f" (got {type_name(value)})"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"must be one of {expected}{got}"
    if kind.startswith("string"):
        return f"must be text{got}"
    if kind.startswith("int") or kind == "float_parsing":
        return f"must be a whole number{got}"
    if kind.startswith("bool"):
        return f"must be true or false{got}"
    if kind.startswith(("dict", "model")):
        return f"must be a table{got}"
    if kind.startswith("list"):
        return f"must be a list{got}"
    return str(err.get("msg", "is not valid"))


def validate_types(canonical: dict[str, Any], source: SourceMap, out: Collector,
                   root: Path | None = None) -> PluginManifest | None:
    """Build the model; every pydantic error becomes one problem at the field the user wrote.

    `root` is the plugin folder: the requested scope's relative paths are resolved inside it."""
    try:
        return PluginManifest.model_validate(canonical, strict=True, context={"root": root})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            out.error(source.render(tuple(err["loc"])), _translate(dict(err)))
    return None


def check_rules(canonical: dict[str, Any], folder: Path, source: SourceMap, out: Collector) -> None:
    """Rules beyond types: id, version, entry, duplicate names, schemas, component paths.

    Read from the canonical dict, so they run even when a type elsewhere is wrong; a value of the
    wrong type is left to `validate_types` (one problem per mistake).
    """
    plugin_id = canonical.get("id")
    if isinstance(plugin_id, str) and plugin_id and not is_valid_id(plugin_id):  # a missing id: reported
        out.error(source.render(("id",)), f"'{plugin_id}' is not a valid plugin id: {ID_RULE}")
    version = canonical.get("version")
    if isinstance(version, str) and not SEMVER.match(version):
        out.warning(source.render(("version",)), f"'{version}' is not a semantic version like 1.2.3")
    _check_entry(canonical.get("kind"), canonical.get("entry"), folder, source, out)
    caps = canonical.get("capabilities")
    first_seen: dict[tuple[str, str], int] = {}
    for index, cap in enumerate(caps if isinstance(caps, list) else ()):
        if isinstance(cap, dict):
            _check_capability(index, cap, first_seen, folder, source, out)
    for path, message in config_schema_problems(canonical.get("config_schema")):
        out.error(source.render(("config_schema", *path)), message)


def _check_entry(kind: Any, entry: Any, folder: Path, source: SourceMap, out: Collector) -> None:
    if isinstance(entry, str):
        reason = path_escape_reason(folder, entry)
        if reason:
            out.error(source.render(("entry",)), reason)
        # os.path.isfile, not Path.is_file: a name too long for the file system is "missing", not a crash.
        elif kind in CODE_KINDS and not os.path.isfile(os.path.join(folder, entry)):
            out.error(source.render(("entry",)), f"entry '{entry}' does not exist")
    elif entry is None and kind in CODE_KINDS:
        out.error(source.render(("entry",)), f"a {kind} plugin needs an entry file")


def _check_capability(index: int, cap: dict[str, Any], first_seen: dict[tuple[str, str], int], folder: Path,
                      source: SourceMap, out: Collector) -> None:
    cap_type, name = cap.get("type"), cap.get("name")
    if cap_type in ("tool", "command") and isinstance(name, str):
        key = (cap_type, name)
        if key in first_seen:
            out.error(source.render(("capabilities", index, "name")),
                      f"{cap_type} '{name}' is declared twice (first at "
                      f"{source.render(('capabilities', first_seen[key]))})")
        else:
            first_seen[key] = index
    parameters = cap.get("parameters")
    if cap_type == "tool" and isinstance(parameters, dict):
        problem = parameters_problem(parameters)
        if problem:
            out.error(source.render(("capabilities", index, "parameters")), problem)
    details = cap.get("details")
    if cap_type in ("skill", "agent", "command") and isinstance(details, dict):
        detail_path = details.get("path")
        if isinstance(detail_path, str) and detail_path:
            reason = path_escape_reason(folder, detail_path)
            if reason:
                out.error(source.render(("capabilities", index, "details", "path")), reason)


def finish(canonical: dict[str, Any], folder: Path, source: SourceMap, out: Collector, *,
           fmt: str, manifest_file: str) -> ParseResult:
    """Validate the canonical dict (types and rules, one pass); never raises."""
    raw_id = canonical.get("id")
    fallback = raw_id if isinstance(raw_id, str) and is_valid_id(raw_id) else \
        (sanitize_id(raw_id) if isinstance(raw_id, str) else "") or sanitize_id(folder.name) or folder.name
    manifest = validate_types(canonical, source, out, folder)
    check_rules(canonical, folder, source, out)
    problems = out.problems
    if has_errors(problems):
        log.debug("%s: %d problem(s)", folder, len(problems))
    return ParseResult(manifest=manifest, problems=problems, format=fmt,  # type: ignore[arg-type]
                       manifest_file=manifest_file, fallback_id=fallback)


def failed(file: str, problems: list[Problem], folder: Path, fmt: str) -> ParseResult:
    """A manifest that could not even be read: listed under the folder's name."""
    return ParseResult(manifest=None, problems=problems, format=fmt,  # type: ignore[arg-type]
                       manifest_file=file, fallback_id=sanitize_id(folder.name) or folder.name)
