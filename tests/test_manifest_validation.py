"""Validation reports every problem of a manifest in one pass, and every manifest file is read alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_files import write_plugin

from aleph_gui.core.manifest.detect import load_plugin_folder
from aleph_gui.core.manifest.model import ParseResult


def parse(tmp_path: Path, files: dict, folder: str = "plugin") -> ParseResult:
    return load_plugin_folder(write_plugin(tmp_path, folder, files))


def sentences(result: ParseResult) -> list[str]:
    return [p.sentence() for p in result.problems]


# -- one pass: a user fixes everything in one round ----------------------------------------------------


def test_a_type_error_does_not_hide_the_id_entry_and_version_problems(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "My_Plugin"\nversion = "one"\nkind = "wasm"\nentry = "missing.wasm"\n'
            '[limits]\nmemory_mb = "big"\n')
    result = parse(tmp_path, {"plugin.toml": text})
    assert result.manifest is None
    assert sorted(sentences(result)) == sorted([
        "plugin.toml: [limits].memory_mb — must be a whole number (got text 'big')",
        "plugin.toml: [plugin].id — 'My_Plugin' is not a valid plugin id: use lowercase letters, digits and "
        "single hyphens, starting with a letter (at most 64 characters)",
        "plugin.toml: [plugin].entry — entry 'missing.wasm' does not exist",
        "plugin.toml: [plugin].version — 'one' is not a semantic version like 1.2.3",
    ])


def test_json_reports_every_problem_at_the_field_as_written(tmp_path: Path) -> None:
    doc = {"plugin": {"id": "Bad Id", "version": "1.0.0", "kind": "nodejs", "entry": "gone.js",
                      "activation": "sometimes"},
           "capabilities": [{"type": "tool", "name": "t", "parameters": {"type": "object", "required": "x"}},
                            {"type": "tool", "name": "t"}]}
    found = sentences(parse(tmp_path, {"plugin.json": doc}))
    assert "plugin.json: plugin.activation — must be one of 'lazy' or 'startup' (got text 'sometimes')" in found
    assert any(s.startswith("plugin.json: plugin.id — 'Bad Id' is not a valid plugin id") for s in found)
    assert "plugin.json: plugin.entry — entry 'gone.js' does not exist" in found
    assert any(s.startswith("plugin.json: capabilities[0].parameters — is not a valid JSON Schema at 'required'")
               for s in found)
    assert "plugin.json: capabilities[1].name — tool 't' is declared twice (first at capabilities[0])" in found
    assert len(found) == 5, found


def test_a_wrong_type_is_reported_once(tmp_path: Path) -> None:
    """The rules beyond types leave a value of the wrong type to the type check: one problem per mistake."""
    text = '[plugin]\nid = "p"\nversion = 1\nkind = "wasm"\nentry = 7\n[[tools]]\nname = "t"\nparameters = 3\n'
    assert sorted(sentences(parse(tmp_path, {"plugin.toml": text}))) == sorted([
        "plugin.toml: [plugin].version — must be text (got a number 1)",
        "plugin.toml: [plugin].entry — must be text (got a number 7)",
        "plugin.toml: [[tools]][0].parameters — must be a table (got a number 3)",
    ])


# -- config_schema ---------------------------------------------------------------------------------------


def test_an_invalid_setting_in_config_schema_is_named(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n'
            '[config_schema.units]\ntype = "string"\ndefault = "metric"\n'
            '[config_schema.max_items]\ntype = "int"\n'
            '[config_schema.tags]\ntype = "array"\nitems = "string"\n')
    result = parse(tmp_path, {"plugin.toml": text})
    assert sorted(sentences(result)) == sorted([
        "plugin.toml: [config_schema].max_items — is not a valid JSON Schema at 'type': 'int' is not a type; use "
        "one of array, boolean, integer, null, number, object, string",
        "plugin.toml: [config_schema].tags — is not a valid JSON Schema at 'items': expected a table/object or "
        "true/false, got text",
    ])
    assert result.manifest is not None and result.manifest.config_defaults == {"units": "metric"}


def test_a_setting_that_is_not_a_table_is_named(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\n[config_schema]\ndebug = true\n'
    assert sentences(parse(tmp_path, {"plugin.toml": text})) == [
        "plugin.toml: [config_schema].debug — must be a table describing the setting (type, default, "
        "description), got true/false"]


def test_a_whole_json_schema_as_config_schema_gives_its_defaults(tmp_path: Path) -> None:
    doc = {"plugin": {"id": "p", "version": "1.0.0"},
           "config_schema": {"type": "object", "properties": {"units": {"type": "string", "default": "metric"}}},
           "config": {"city": "Oslo"}}
    result = parse(tmp_path, {"plugin.json": doc})
    assert sentences(result) == []
    assert result.manifest is not None and result.manifest.config_defaults == {"city": "Oslo", "units": "metric"}


# -- one reader for every manifest file --------------------------------------------------------------------

CLAUDE_OK = json.dumps({"name": "cc"})
# (files that make a valid plugin, the file the reader is tested on)
FORMATS = {
    "toml": ({"plugin.toml": '[plugin]\nid = "p"\nversion = "1.0.0"\n'}, "plugin.toml"),
    "json": ({"plugin.json": json.dumps({"plugin": {"id": "p", "version": "1.0.0"}})}, "plugin.json"),
    "claude plugin.json": ({".claude-plugin/plugin.json": CLAUDE_OK}, ".claude-plugin/plugin.json"),
    "claude hooks.json": ({".claude-plugin/plugin.json": CLAUDE_OK,
                           "hooks/hooks.json": json.dumps({"hooks": {}})}, "hooks/hooks.json"),
    "claude .mcp.json": ({".claude-plugin/plugin.json": CLAUDE_OK, ".mcp.json": json.dumps({"mcpServers": {}})},
                         ".mcp.json"),
    "mcp only": ({".mcp.json": json.dumps({"mcpServers": {}})}, ".mcp.json"),
}


def _with(files: dict, name: str, content: bytes | str) -> dict:
    return {**files, name: content}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_refuses_a_file_over_one_mib(tmp_path: Path, fmt: str) -> None:
    files, name = FORMATS[fmt]
    original = files[name]
    huge = original[:-1] + " " * (1024 * 1024) + original[-1]  # valid syntax, only too big
    found = sentences(parse(tmp_path, _with(files, name, huge)))
    assert any(s.startswith(f"{name} — the file is 1.0 MiB; manifests may be at most 1 MiB") for s in found), found


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_says_an_empty_file_is_empty(tmp_path: Path, fmt: str) -> None:
    files, name = FORMATS[fmt]
    assert f"{name} — the file is empty" in sentences(parse(tmp_path, _with(files, name, "  \n")))


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_utf8_with_a_byte_order_mark(tmp_path: Path, fmt: str) -> None:
    files, name = FORMATS[fmt]
    result = parse(tmp_path, _with(files, name, b"\xef\xbb\xbf" + files[name].encode()))
    assert result.manifest is not None and [p for p in result.problems if p.severity == "error"] == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_names_the_byte_that_is_not_utf8(tmp_path: Path, fmt: str) -> None:
    files, name = FORMATS[fmt]
    found = sentences(parse(tmp_path, _with(files, name, b"\xff" + files[name].encode())))
    assert f"{name} — is not UTF-8 text (invalid byte 0xff at offset 0); save it as UTF-8" in found, found


@pytest.mark.parametrize("name", ["plugin.json", ".claude-plugin/plugin.json", ".mcp.json"])
def test_every_json_file_words_a_syntax_error_alike(tmp_path: Path, name: str) -> None:
    found = sentences(parse(tmp_path, {name: '{"a": 1,,}'}))
    assert f"{name} — is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 9)" \
        in found, found
