"""Every Aleph manifest format, fed hostile documents: only typed problems come out, never an exception,
and `list --json` can always show the plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rtoml
from fuzzkit import (
    Scratch,
    aleph_documents,
    check_listing,
    check_parse_result,
    counted,
    fuzz_settings,
    json_values,
    odd_text,
)
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.discovery import load_one
from aleph_gui.core.manifest.detect import load_manifest_file, load_plugin_folder
from aleph_gui.core.state import StateDB

TOML_NAMES = ["aleph.plugin.toml", "plugin.toml"]
JSON_NAMES = ["aleph.plugin.json", "plugin.json"]


def toml_text(doc: Any) -> str:
    """The document as TOML; what TOML cannot hold (null, a top-level list) is written as JSON text,
    which is then a syntax error for the parser to report."""
    try:
        return rtoml.dumps(doc)
    except Exception:  # noqa: BLE001 - rtoml refuses many hostile documents in many ways
        return json.dumps(doc)


# Raw TOML text: fragments glued together, so syntax errors land everywhere.
TOML_FRAGMENTS = ["[plugin]\n", "id = \"x\"\n", "[[capabilities]]\n", "type = \"tool\"\n", "name = ", "\"",
                  "'''", "= =", "[scope]\n", "allowed_apis = [", "]", "{", "}", "1979-05-27T07:32:00Z", "\n",
                  "\\u0000", "nan", "inf", "0x", "[[tools]]\n", "a.b.c = 1\n", "[plugin.x]\n", "entry = \"../x\"\n",
                  "kind = \"wasm\"\n", "[[hooks]]\nevent = \"PreToolUse\"\n", "\"\"\"", "#", "\t", "\r\n"]
# Nesting far past Python's recursion limit, as text (building it as objects would break the generator).
DEEP_JSON = st.sampled_from([
    "[" * 100_000 + "]" * 100_000,
    '{"plugin": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001,
    '{"plugin": {"id": "x"}, "capabilities": ' + "[" * 3000 + "]" * 3000 + "}",
])
DEEP_TOML = st.sampled_from(["a = " + "[" * 100_000 + "]" * 100_000, "x = " + "{a = " * 5000 + "1" + "}" * 5000,
                             "[plugin]\nid = \"x\"\n" + "[" + "a." * 5000 + "b]\n"])
raw_toml = st.lists(st.one_of(st.sampled_from(TOML_FRAGMENTS), odd_text), max_size=30).map("".join)


def _write(folder: Path, name: str, content: str | bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode("utf-8", "surrogatepass"))


def _check_folder(folder: Path, state: StateDB) -> None:
    check_parse_result(load_plugin_folder(folder))
    check_listing(folder, state)


def test_toml_manifests_only_give_typed_problems(tmp_path: Path, fuzz_cases: int) -> None:
    state = StateDB(tmp_path / "state.db")

    @fuzz_settings(fuzz_cases)
    @given(name=st.sampled_from(TOML_NAMES),
           content=st.one_of(aleph_documents().map(toml_text), raw_toml, DEEP_TOML))
    @counted("manifest-toml")
    def check(name: str, content: str) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write(folder, name, content)
            _check_folder(folder, state)
            check_parse_result(load_manifest_file(folder / name))

    check()
    state.close()


def test_json_manifests_only_give_typed_problems(tmp_path: Path, fuzz_cases: int) -> None:
    state = StateDB(tmp_path / "state.db")
    flat = aleph_documents().map(lambda d: {**d["plugin"], **{k: v for k, v in d.items() if k != "plugin"}}
                                 if isinstance(d, dict) and isinstance(d.get("plugin"), dict) else d)

    @fuzz_settings(fuzz_cases)
    @given(name=st.sampled_from(JSON_NAMES),
           text=st.one_of(st.one_of(aleph_documents(), flat, json_values).map(json.dumps), DEEP_JSON))
    @counted("manifest-json")
    def check(name: str, text: str) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write(folder, name, text)
            _check_folder(folder, state)
            check_parse_result(load_manifest_file(folder / name))

    check()
    state.close()


def test_package_json_manifests_only_give_typed_problems(tmp_path: Path, fuzz_cases: int) -> None:
    state = StateDB(tmp_path / "state.db")

    @st.composite
    def packages(draw: st.DrawFn) -> Any:
        drawn = draw(aleph_documents())
        if not isinstance(drawn, dict):
            return {"aleph": drawn}
        doc = dict(drawn)  # a copy: hypothesis may replay the drawn value
        plugin = doc.pop("plugin", {})
        plugin = plugin if isinstance(plugin, dict) else {}
        aleph = {**{k: v for k, v in plugin.items() if k in ("id", "kind", "entry", "activation")}, **doc}
        package: dict[str, Any] = {"aleph": draw(st.one_of(st.just(aleph), json_values))}
        for key in ("name", "version", "description", "main", "author"):
            if draw(st.booleans()):
                package[key] = draw(st.one_of(odd_text, json_values)) if key != "name" else \
                    draw(st.one_of(st.sampled_from(["@org/pkg", "my-pkg", "", "@/", "@@"]), odd_text, json_values))
        return package

    @fuzz_settings(fuzz_cases)
    @given(doc=packages())
    @counted("manifest-package-json")
    def check(doc: Any) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write(folder, "package.json", json.dumps(doc))
            _check_folder(folder, state)
            check_parse_result(load_manifest_file(folder / "package.json"))

    check()
    state.close()


CLAUDE_FILES = [".claude-plugin/plugin.json", "cc-plugin.json", "claude-plugin/plugin.json"]


@st.composite
def claude_manifests(draw: st.DrawFn) -> Any:
    doc: dict[str, Any] = {"name": draw(st.one_of(st.sampled_from(["my-plugin", "My Plugin!", "日本", "-"]),
                                                  odd_text, json_values))}
    paths = st.one_of(odd_text, st.sampled_from(["./commands", "../outside", "/etc", "skills/", "hooks/x.json",
                                                 "~/x", "C:\\x", "a/../../b"]))
    for key in ("commands", "agents", "skills", "hooks", "mcpServers"):
        if draw(st.booleans()):
            doc[key] = draw(st.one_of(paths, st.lists(paths, max_size=3), json_values))
    for key in ("version", "description", "author", "homepage", "keywords"):
        if draw(st.booleans()):
            doc[key] = draw(json_values)
    return draw(st.one_of(st.just(doc), json_values))


def test_claude_plugin_manifests_only_give_typed_problems(tmp_path: Path, fuzz_cases: int) -> None:
    state = StateDB(tmp_path / "state.db")

    @fuzz_settings(fuzz_cases)
    @given(name=st.sampled_from(CLAUDE_FILES), doc=claude_manifests(),
           hooks=st.one_of(st.none(), json_values), mcp=st.one_of(st.none(), json_values))
    @counted("manifest-claude")
    def check(name: str, doc: Any, hooks: Any, mcp: Any) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write(folder, name, json.dumps(doc))
            if hooks is not None:
                _write(folder, "hooks/hooks.json", json.dumps({"hooks": hooks}))
            if mcp is not None:
                _write(folder, ".mcp.json", json.dumps({"mcpServers": mcp}))
            _check_folder(folder, state)
            check_parse_result(load_manifest_file(folder / name))

    check()
    state.close()


MANIFEST_NAMES = TOML_NAMES + JSON_NAMES + ["package.json", ".mcp.json"] + CLAUDE_FILES


def test_raw_bytes_in_any_manifest_only_give_typed_problems(tmp_path: Path, fuzz_cases: int) -> None:
    """Binary junk, invalid UTF-8, BOMs, NULs and truncated documents in every manifest file name."""
    state = StateDB(tmp_path / "state.db")
    prefixes = st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe", b'{"aleph": ', b"[plugin]\nid = ", b"\x00"])

    @fuzz_settings(fuzz_cases)
    @given(name=st.sampled_from(MANIFEST_NAMES), prefix=prefixes, body=st.binary(max_size=300))
    @counted("manifest-bytes")
    def check(name: str, prefix: bytes, body: bytes) -> None:
        with Scratch(tmp_path / "cases") as folder:
            _write(folder, name, prefix + body)
            _check_folder(folder, state)
            check_parse_result(load_manifest_file(folder / name))

    check()
    state.close()


@pytest.mark.parametrize("name", MANIFEST_NAMES)
@pytest.mark.parametrize("junk", [b"\xf0\x9f\x98\x80", b"\xff\xfe\x00", b"[[[[", b"a"])
def test_a_1_mib_junk_manifest_is_rejected(tmp_path: Path, name: str, junk: bytes) -> None:
    folder = tmp_path / "junk"
    start = b'{"aleph": {"plugin": "' if name.endswith(".json") else b"[plugin]\nid = \""
    _write(folder, name, (start + junk * (1024 * 1024 // len(junk) + 1))[: 1024 * 1024 + 7])
    result = load_plugin_folder(folder)
    check_parse_result(result)
    assert any(p.severity == "error" for p in result.problems)
    found = load_one(folder, "user")
    assert not found.valid
