"""The Aleph manifest formats: TOML (design form and real tables), JSON, package.json, and their errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plugin_files import write_plugin

from aleph_gui.core.manifest.detect import has_manifest, load_manifest_file, load_plugin_folder
from aleph_gui.core.manifest.model import ParseResult
from aleph_gui.core.problems import has_errors

DESIGN_TOML = """
[plugin]
id = "text-tools"
name = "Text Tools"
version = "1.2.0"
description = "Uppercase and count words"
kind = "wasm"
entry = "plugin.wat"
activation = "startup"

[[capabilities]]
type = "tool"
name = "uppercase"
description = "Make text loud"
parameters = { type = "object", properties = { text = { type = "string" } }, required = ["text"] }

[[capabilities]]
type = "hook"
event = "message_received"
priority = 5
handler = "on_message"
kind = "observer"
fail_closed = true
timeout_ms = 250

[[capabilities]]
type = "http_route"
method = "POST"
path = "/upper"
handler = "upper_route"

[scope]
allowed_apis = ["log", "kv"]
file_access = { mode = "read", paths = ["~/Documents/notes"] }
network_access = { mode = "allow", hosts = ["api.example.com"] }

[limits]
memory_mb = 32
tool_timeout_ms = 5000

[config]
banned_word = "spam"
"""


def parse(tmp_path: Path, files: dict, folder: str = "plugin") -> ParseResult:
    return load_plugin_folder(write_plugin(tmp_path, folder, files))


def messages(result: ParseResult, severity: str | None = None) -> list[str]:
    return [p.sentence() for p in result.problems if severity in (None, p.severity)]


def only_error(result: ParseResult) -> str:
    errors = messages(result, "error")
    assert len(errors) == 1, errors
    return errors[0]


# -- the design-document TOML form ------------------------------------------------------------


def test_design_form_toml_reads_every_section(tmp_path: Path) -> None:
    result = parse(tmp_path, {"aleph.plugin.toml": DESIGN_TOML, "plugin.wat": "(module)"})
    assert result.problems == []
    m = result.manifest
    assert m is not None
    assert (m.id, m.name, m.version, m.kind, m.entry, m.format) == (
        "text-tools", "Text Tools", "1.2.0", "wasm", "plugin.wat", "aleph-toml")
    assert m.activation == "startup"
    tool, hook, route = m.capabilities
    assert tool.type == "tool" and tool.name == "uppercase" and tool.parameters["required"] == ["text"]
    assert (hook.event, hook.priority, hook.handler, hook.hook_kind, hook.fail_closed, hook.timeout_ms) == (
        "message_received", 5, "on_message", "observer", True, 250)
    assert route.details == {"method": "POST", "path": "/upper"} and route.name == "POST /upper"
    assert m.scope.allowed_apis == ["log", "kv"]
    assert (m.scope.file_access.mode, m.scope.file_access.paths) == ("read", ["~/Documents/notes"])
    assert (m.scope.network_access.mode, m.scope.network_access.hosts) == ("allow", ["api.example.com"])
    assert m.limits.memory_mb == 32 and m.limits.tool_timeout_ms == 5000
    assert m.config_defaults == {"banned_word": "spam"}


def test_plugin_toml_is_the_second_toml_name(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": DESIGN_TOML, "plugin.wat": "(module)"})
    assert result.manifest is not None and result.manifest_file == "plugin.toml"


# -- Aleph's real tables ----------------------------------------------------------------------------

REAL_TOML = """
[plugin]
id = "diag"
name = "Diag"
version = "0.1.0"
kind = "nodejs"
entry = "src/index.js"

[permissions]
shell = true
filesystem = "read"
network = true

[capabilities]
workspace = { allowed_prefixes = [".aleph/"] }

[config_schema.sip_server]
type = "string"
default = "sip.example.com"

[[tools]]
name = "system_health"
description = "Report health"
handler = "systemHealth"

[tools.parameters]
type = "object"
required = []

[tools.parameters.properties.format]
type = "string"
default = "summary"

[[hooks]]
event = "message_received"
kind = "observer"
handler = "onMessage"
priority = "low"

[[hooks]]
event = "tool_invoked"
kind = "interceptor"
handler = "onTool"
priority = "high"
filter = "system_health"

[[services]]
name = "collector"
start_handler = "startCollector"
stop_handler = "stopCollector"

[[commands]]
name = "status"
handler = "status"

[[channels]]
name = "sms"

[[providers]]
name = "local-llm"

[[http_routes]]
path = "/health"
method = "GET"
handler = "health"
"""


def test_real_tables_are_another_spelling_of_the_same_model(tmp_path: Path) -> None:
    result = parse(tmp_path, {"aleph.plugin.toml": REAL_TOML, "src/index.js": "// entry"})
    assert messages(result) == []
    m = result.manifest
    assert m is not None and m.kind == "nodejs" and m.entry == "src/index.js"
    assert [c.type for c in m.capabilities] == [
        "tool", "hook", "hook", "command", "service", "channel", "provider", "http_route"]
    low, high = m.of_type("hook")
    assert (low.priority, low.hook_kind) == (10, "observer")
    assert (high.priority, high.hook_kind, high.matcher) == (-10, "interceptor", "system_health")
    assert m.of_type("service")[0].details == {"start_handler": "startCollector", "stop_handler": "stopCollector"}
    assert m.tool("system_health").handler == "systemHealth"
    # Aleph's bundled plugins are JSON-RPC servers answering plugin.call
    assert m.node_shape == "server"
    assert m.config_schema["sip_server"]["type"] == "string"
    assert m.config_defaults == {"sip_server": "sip.example.com"}


def test_permissions_map_onto_scope(tmp_path: Path) -> None:
    result = parse(tmp_path, {"aleph.plugin.toml": REAL_TOML, "src/index.js": ""})
    scope = result.manifest.scope
    assert scope.shell is True
    assert scope.file_access.mode == "read" and scope.file_access.paths == []  # everything
    assert scope.network_access.mode == "any"
    texts = [p.text for p in scope.permissions()]
    assert "read any file on this computer" in texts and "connect to any host on the internet" in texts


@pytest.mark.parametrize(("value", "mode"), [('"write"', "read_write"), ('"none"', "none"),
                                             ('{ mode = "read", paths = ["~/notes"] }', "read")])
def test_permissions_filesystem_spellings(tmp_path: Path, value: str, mode: str) -> None:
    text = f'[plugin]\nid = "p"\nversion = "1.0.0"\n[permissions]\nfilesystem = {value}\n'
    scope = parse(tmp_path, {"plugin.toml": text}).manifest.scope
    assert scope.file_access.mode == mode


def test_priority_words_and_bad_priority(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n'
            '[[hooks]]\nevent = "message_received"\nhandler = "h"\npriority = "urgent"\n')
    result = parse(tmp_path, {"plugin.toml": text})
    assert only_error(result) == ("plugin.toml: [[hooks]][0].priority — must be a whole number or one of "
                                  "high, normal, low (got 'urgent')")


def test_claude_event_names_become_canonical(tmp_path: Path) -> None:
    from aleph_gui.core.hook_events import canonical_event

    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n'
            '[[hooks]]\nevent = "PreToolUse"\nhandler = "h"\n'
            '[[hooks]]\nevent = "NoSuchEvent"\nhandler = "h2"\n')
    result = parse(tmp_path, {"plugin.toml": text})
    hooks = result.manifest.of_type("hook")
    assert hooks[0].event == canonical_event("PreToolUse") != "PreToolUse"
    assert hooks[1].event == "NoSuchEvent"
    assert messages(result, "warning") == [
        "plugin.toml: [[hooks]][1].event — unknown hook event 'NoSuchEvent'; this hook will never run"]
    assert not has_errors(result.problems)


def test_tool_without_handler_uses_its_name(tmp_path: Path, local_corpus: Path) -> None:
    # Aleph's diff-viewer declares [[tools]] without `handler`.
    folder = tmp_path / "diff-viewer"
    folder.mkdir()
    (folder / "aleph.plugin.toml").write_bytes(
        (local_corpus / "rootazero__Aleph/plugins/diff-viewer/aleph.plugin.toml").read_bytes())
    wasm = folder / "target/wasm32-wasip1/release/diff_viewer.wasm"
    wasm.parent.mkdir(parents=True)
    wasm.write_bytes(b"\0asm\x01\0\0\0")
    result = load_plugin_folder(folder)
    assert messages(result) == []
    assert result.manifest.tool("diff_text").handler_name == "diff_text"


# -- defaults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("files", "kind", "entry"), [
    ({"plugin.wasm": b"\0asm"}, "wasm", "plugin.wasm"),
    ({"index.js": "module.exports = {}"}, "nodejs", "index.js"),
    ({}, "static", None),
])
def test_kind_defaults_by_file(tmp_path: Path, files: dict, kind: str, entry: str | None) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nid = "p"\nversion = "1.0.0"\n', **files})
    assert messages(result, "error") == []
    assert (result.manifest.kind, result.manifest.entry) == (kind, entry)


@pytest.mark.parametrize(("entry", "kind"), [("mod.wat", "wasm"), ("lib/main.mjs", "nodejs")])
def test_kind_defaults_by_entry_suffix(tmp_path: Path, entry: str, kind: str) -> None:
    text = f'[plugin]\nid = "p"\nversion = "1.0.0"\nentry = "{entry}"\n'
    result = parse(tmp_path, {"plugin.toml": text, entry: "x"})
    assert result.manifest.kind == kind and messages(result) == []


def test_id_is_derived_from_the_name_in_toml(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nname = "My Plugin"\nversion = "1.0.0"\n'})
    assert result.manifest.id == "my-plugin" and messages(result) == []


def test_missing_version_is_a_warning(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nid = "p"\n'})
    assert result.manifest.version == "0.0.0"
    assert messages(result) == ["plugin.toml: [plugin].version — no version given; shown as 0.0.0"]


def test_non_semver_version_is_a_warning_only(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nid = "p"\nversion = "1.0"\n'})
    assert messages(result) == ["plugin.toml: [plugin].version — '1.0' is not a semantic version like 1.2.3"]
    assert result.manifest is not None and not has_errors(result.problems)


# -- errors: every rule, one clear sentence each ------------------------------------------------------


def test_invalid_id_in_toml(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nid = "My_Plugin"\nversion = "1.0.0"\n'})
    assert only_error(result).startswith(
        "plugin.toml: [plugin].id — 'My_Plugin' is not a valid plugin id: use lowercase letters, digits and "
        "single hyphens")
    assert result.fallback_id == "my-plugin"  # listed under a readable id


def test_id_longer_than_64(tmp_path: Path) -> None:
    long_id = "a" * 65
    result = parse(tmp_path, {"plugin.toml": f'[plugin]\nid = "{long_id}"\nversion = "1.0.0"\n'})
    assert "at most 64 characters" in only_error(result)


def test_unknown_keys_warn_and_are_ignored(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\ncolour = "red"\n[extras]\nx = 1\n'
            '[[capabilities]]\ntype = "tool"\nname = "t"\nsparkle = true\n')
    result = parse(tmp_path, {"plugin.toml": text})
    assert sorted(messages(result, "warning")) == sorted([
        "plugin.toml: [plugin].colour — unknown key 'colour' is ignored",
        "plugin.toml: extras — unknown key 'extras' is ignored",
        "plugin.toml: [[capabilities]][0].sparkle — unknown key 'sparkle' is ignored",
    ])
    assert result.manifest is not None and not has_errors(result.problems)


@pytest.mark.parametrize(("line", "expected"), [
    ('name = 5', "plugin.toml: [plugin].name — must be text (got a number 5)"),
    ('kind = "python"', "plugin.toml: [plugin].kind — must be one of 'wasm', 'nodejs', 'static', 'claude' or "
                        "'mcp' (got text 'python')"),
    ('activation = true', "plugin.toml: [plugin].activation — must be one of 'lazy' or 'startup' "
                          "(got true/false True)"),
])
def test_wrong_type_on_a_known_key_is_an_error(tmp_path: Path, line: str, expected: str) -> None:
    result = parse(tmp_path, {"plugin.toml": f'[plugin]\nid = "p"\nversion = "1.0.0"\n{line}\n'})
    assert only_error(result) == expected
    assert result.manifest is None and result.fallback_id == "p"


def test_wrong_type_inside_a_capability_names_the_real_table(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n'
            '[[tools]]\nname = "a"\n[[tools]]\nname = "b"\ndescription = ["not", "text"]\n')
    assert only_error(parse(tmp_path, {"plugin.toml": text})) == \
        "plugin.toml: [[tools]][1].description — must be text (got a list)"


def test_wrong_type_in_permissions(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\n[permissions]\nshell = "yes"\n'
    assert only_error(parse(tmp_path, {"plugin.toml": text})) == \
        "plugin.toml: [permissions].shell — must be true or false (got text 'yes')"


def test_unknown_capability_type(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\n[[capabilities]]\ntype = "widget"\nname = "w"\n'
    assert "[[capabilities]][0].type — 'widget' is not a capability type" in only_error(
        parse(tmp_path, {"plugin.toml": text}))


def test_hook_without_event(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\n[[hooks]]\nhandler = "h"\n'
    assert only_error(parse(tmp_path, {"plugin.toml": text})) == \
        "plugin.toml: [[hooks]][0].event — a hook needs the name of the event it listens to"


def test_duplicate_tool_names_are_an_error(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n[[capabilities]]\ntype = "tool"\nname = "dup"\n'
            '[[tools]]\nname = "dup"\n')
    assert only_error(parse(tmp_path, {"plugin.toml": text})) == (
        "plugin.toml: [[tools]][0].name — tool 'dup' is declared twice (first at [[capabilities]][0])")


def test_tool_parameters_must_be_a_json_schema(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n[[tools]]\nname = "t"\n'
            '[tools.parameters]\ntype = "object"\nrequired = "text"\n')
    assert only_error(parse(tmp_path, {"plugin.toml": text})).startswith(
        "plugin.toml: [[tools]][0].parameters — is not a valid JSON Schema at 'required':")


def test_tool_parameters_must_describe_an_object(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\n[[tools]]\nname = "t"\nparameters = { type = "string" }\n'
    assert "must describe an object" in only_error(parse(tmp_path, {"plugin.toml": text}))


def test_rich_schemas_go_through_the_full_meta_schema_check(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"mode": {"oneOf": [{"const": "a"}, {"const": "b"}]},
                                               "tag": {"type": "string", "pattern": "^[a-z]+$"}},
              "$defs": {"x": {"type": "integer"}}}
    doc = {"plugin": {"id": "p", "name": "P", "version": "1.0.0"},
           "capabilities": [{"type": "tool", "name": "t", "parameters": schema}]}
    assert messages(parse(tmp_path, {"plugin.json": doc})) == []
    schema["properties"]["mode"]["oneOf"] = "not a list"
    assert "is not a valid JSON Schema at 'properties.mode.oneOf'" in only_error(
        parse(tmp_path, {"plugin.json": doc}, folder="p2"))


def test_malformed_real_manifest_names_the_tool_parameters(tmp_path: Path, local_corpus: Path) -> None:
    """rootazero/Aleph@52f5d64e llm-task: a stray [[...]] turned a schema's properties into a list."""
    folder = tmp_path / "llm-task"
    (folder / "src").mkdir(parents=True)
    (folder / "src/index.js").write_text("")
    (folder / "aleph.plugin.toml").write_bytes(
        (local_corpus / "rootazero__Aleph@52f5d64e/plugins/llm-task/aleph.plugin.toml").read_bytes())
    result = load_plugin_folder(folder)
    assert only_error(result) == (
        "aleph.plugin.toml: [[tools]][2].parameters — is not a valid JSON Schema at "
        "'properties.steps.items.properties': expected a table/object, got a list")
    assert result.manifest.tool("llm_chain") is not None  # the rest of the plugin is still shown


# -- entry paths ---------------------------------------------------------------------------------------


def test_missing_entry_is_an_error(tmp_path: Path) -> None:
    text = '[plugin]\nid = "p"\nversion = "1.0.0"\nkind = "wasm"\nentry = "x.wasm"\n'
    assert only_error(parse(tmp_path, {"plugin.toml": text})) == \
        "plugin.toml: [plugin].entry — entry 'x.wasm' does not exist"


@pytest.mark.parametrize(("entry", "says"), [
    ("../outside.js", "uses '..' to leave the plugin folder"),
    ("/etc/passwd.js", "is an absolute path"),
    ("~/evil.js", "is an absolute path"),
])
def test_entry_must_stay_inside_the_folder(tmp_path: Path, entry: str, says: str) -> None:
    text = f'[plugin]\nid = "p"\nversion = "1.0.0"\nkind = "nodejs"\nentry = "{entry}"\n'
    assert says in only_error(parse(tmp_path, {"plugin.toml": text}))


def test_entry_symlink_escaping_the_folder_is_rejected(tmp_path: Path) -> None:
    outside = tmp_path / "outside.js"
    outside.write_text("// not part of the plugin")
    folder = write_plugin(tmp_path, "p", {
        "plugin.toml": '[plugin]\nid = "p"\nversion = "1.0.0"\nkind = "nodejs"\nentry = "lib/index.js"\n'})
    (folder / "lib").mkdir()
    os.symlink(outside, folder / "lib" / "index.js")
    assert "leads outside the plugin folder through a symlink" in only_error(load_plugin_folder(folder))
    # a symlinked directory on the way out is caught too
    os.remove(folder / "lib" / "index.js")
    (folder / "lib").rmdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "index.js").write_text("")
    os.symlink(tmp_path / "elsewhere", folder / "lib")
    assert "through a symlink" in only_error(load_plugin_folder(folder))


def test_symlink_inside_the_folder_is_fine(tmp_path: Path) -> None:
    folder = write_plugin(tmp_path, "p", {
        "plugin.toml": '[plugin]\nid = "p"\nversion = "1.0.0"\nkind = "nodejs"\nentry = "index.js"\n',
        "real/index.js": "// entry"})
    os.symlink(folder / "real" / "index.js", folder / "index.js")
    assert messages(load_plugin_folder(folder)) == []


# -- broken files never crash -------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "says"), [
    (b"", "the file is empty"),
    (b"   \n\n", "the file is empty"),
    (b"[plugin]\nid = \"caf\xe9\"\n", "is not UTF-8 text (invalid byte 0xe9 at offset 18)"),
    (b"[plugin\nid = 1", "is not valid TOML"),
    (b"[plugin]\nid = \"a\"\nid = \"b\"\n", "is not valid TOML"),
])
def test_unreadable_toml_gives_one_clear_error(tmp_path: Path, content: bytes, says: str) -> None:
    result = parse(tmp_path, {"plugin.toml": content}, folder="Broken Plugin")
    assert result.manifest is None
    assert says in only_error(result)
    assert result.fallback_id == "broken-plugin"


def test_huge_manifest_is_refused(tmp_path: Path) -> None:
    big = b'[plugin]\nid = "p"\ndescription = "' + b"x" * (1024 * 1024) + b'"\n'
    assert "manifests may be at most 1 MiB" in only_error(parse(tmp_path, {"plugin.toml": big}))


def test_toml_with_a_date_in_tool_parameters_is_refused(tmp_path: Path) -> None:
    text = ('[plugin]\nid = "p"\nversion = "1.0.0"\n[[tools]]\nname = "t"\n'
            '[tools.parameters]\ntype = "object"\ndefault = 1979-05-27\n')
    assert "JSON cannot express" in only_error(parse(tmp_path, {"plugin.toml": text}))


@pytest.mark.parametrize("content", [b"{", b"[1, 2]", b'"just text"', b'{"plugin": 5}', b"\xff\xfe{}"])
def test_unreadable_json_gives_one_clear_error(tmp_path: Path, content: bytes) -> None:
    result = parse(tmp_path, {"aleph.plugin.json": content})
    assert len(messages(result, "error")) >= 1
    assert all(p.file == "aleph.plugin.json" for p in result.problems)
    assert "Traceback" not in " ".join(messages(result))


# -- JSON --------------------------------------------------------------------------------------------------


def test_json_spelling_matches_toml(tmp_path: Path) -> None:
    import tomllib

    doc = tomllib.loads(DESIGN_TOML)
    from_json = parse(tmp_path, {"aleph.plugin.json": doc, "plugin.wat": "(module)"}, folder="a")
    from_toml = parse(tmp_path, {"aleph.plugin.toml": DESIGN_TOML, "plugin.wat": "(module)"}, folder="b")
    assert from_json.problems == [] and from_json.manifest.format == "aleph-json"
    a = from_json.manifest.model_dump(exclude={"format", "manifest_file"})
    b = from_toml.manifest.model_dump(exclude={"format", "manifest_file"})
    assert a == b


def test_flat_json_spelling(tmp_path: Path) -> None:
    doc = {"id": "flat", "name": "Flat", "version": "1.0.0",
           "capabilities": [{"type": "command", "name": "go", "path": "commands/go.md"}]}
    result = parse(tmp_path, {"plugin.json": doc, "commands/go.md": "# go"})
    assert messages(result) == []
    assert result.manifest.of_type("command")[0].details == {"path": "commands/go.md"}


def test_json_ids_are_not_sanitised(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.json": {"plugin": {"id": "My Plugin", "version": "1.0.0"}}})
    assert "plugin.json: plugin.id — 'My Plugin' is not a valid plugin id" in only_error(result)


def test_json_without_id_is_an_error(tmp_path: Path) -> None:
    result = parse(tmp_path, {"aleph.plugin.json": {"plugin": {"name": "No Id", "version": "1.0.0"}}})
    assert only_error(result).startswith("aleph.plugin.json: plugin.id — is required")


def test_capability_paths_must_stay_inside(tmp_path: Path) -> None:
    doc = {"plugin": {"id": "p", "version": "1.0.0"},
           "capabilities": [{"type": "skill", "name": "s", "path": "../../etc/SKILL.md"}]}
    assert "capabilities[0].path — '../../etc/SKILL.md' uses '..'" in only_error(
        parse(tmp_path, {"plugin.json": doc}))


# -- package.json -----------------------------------------------------------------------------------------


def test_package_json_with_aleph_key(tmp_path: Path) -> None:
    pkg = {"name": "@acme/Weather Tools", "version": "2.1.0", "description": "Weather", "main": "dist/index.js",
           "author": {"name": "Acme"},
           "aleph": {"kind": "nodejs", "capabilities": [{"type": "tool", "name": "forecast"}],
                     "scope": {"network_access": {"mode": "allow", "hosts": ["api.weather.example"]}}}}
    result = parse(tmp_path, {"package.json": pkg, "dist/index.js": "exports.register = () => {}"})
    assert messages(result) == []
    m = result.manifest
    assert (m.id, m.name, m.version, m.entry, m.author, m.format) == (
        "weather-tools", "@acme/Weather Tools", "2.1.0", "dist/index.js", "Acme", "package-json")
    assert m.scope.network_access.hosts == ["api.weather.example"]


def test_package_json_aleph_id_wins(tmp_path: Path) -> None:
    pkg = {"name": "whatever", "version": "1.0.0", "aleph": {"id": "chosen-id"}}
    assert parse(tmp_path, {"package.json": pkg}).manifest.id == "chosen-id"


def test_package_json_main_missing_names_main(tmp_path: Path) -> None:
    pkg = {"name": "x", "version": "1.0.0", "main": "gone.js", "aleph": {"kind": "nodejs"}}
    assert only_error(parse(tmp_path, {"package.json": pkg})) == \
        "package.json: main — entry 'gone.js' does not exist"


def test_package_json_without_aleph_key_is_not_a_manifest(tmp_path: Path, local_corpus: Path) -> None:
    folder = tmp_path / "superpowers"
    folder.mkdir()
    (folder / "package.json").write_bytes((local_corpus / "obra__superpowers/package.json").read_bytes())
    assert not has_manifest(folder)
    result = load_plugin_folder(folder)
    assert result.manifest is None and "no plugin manifest found" in only_error(result)


def test_package_json_beside_toml_picks_the_toml(tmp_path: Path, local_corpus: Path) -> None:
    src = local_corpus / "rootazero__Aleph/plugins/diagnostics"
    folder = tmp_path / "diagnostics"
    (folder / "src").mkdir(parents=True)
    (folder / "src/index.js").write_text("")
    for name in ("aleph.plugin.toml", "package.json"):
        (folder / name).write_bytes((src / name).read_bytes())
    result = load_plugin_folder(folder)
    assert result.format == "aleph-toml" and result.manifest.id == "diagnostics"
    assert messages(result) == []


# -- detection order and manifest files ----------------------------------------------------------------


def test_detection_order_toml_before_json_before_package(tmp_path: Path) -> None:
    files = {"plugin.toml": '[plugin]\nid = "from-toml"\nversion = "1.0.0"\n',
             "plugin.json": {"plugin": {"id": "from-json", "version": "1.0.0"}},
             "package.json": {"name": "from-package", "version": "1.0.0", "aleph": {}}}
    assert parse(tmp_path, files, "a").manifest.id == "from-toml"
    del files["plugin.toml"]
    assert parse(tmp_path, files, "b").manifest.id == "from-json"
    del files["plugin.json"]
    assert parse(tmp_path, files, "c").manifest.id == "from-package"


def test_claude_shaped_root_plugin_json_prefers_the_claude_manifest(tmp_path: Path, local_corpus: Path) -> None:
    src = local_corpus / "EveryInc__compound-engineering-plugin"
    folder = tmp_path / "compound"
    (folder / ".claude-plugin").mkdir(parents=True)
    (folder / "plugin.json").write_bytes((src / "plugin.json").read_bytes())
    (folder / ".claude-plugin/plugin.json").write_bytes((src / ".claude-plugin/plugin.json").read_bytes())
    result = load_plugin_folder(folder)
    assert result.format == "claude" and result.manifest_file == ".claude-plugin/plugin.json"
    assert result.manifest is not None and result.manifest.id == "compound-engineering"


def test_claude_shaped_root_plugin_json_alone_is_explained(tmp_path: Path, local_corpus: Path) -> None:
    folder = tmp_path / "compound"
    folder.mkdir()
    (folder / "plugin.json").write_bytes(
        (local_corpus / "EveryInc__compound-engineering-plugin/plugin.json").read_bytes())
    assert "looks like a Claude Code manifest" in only_error(load_plugin_folder(folder))


def test_claude_and_mcp_folders_are_dispatched(tmp_path: Path) -> None:
    claude = parse(tmp_path, {".claude-plugin/plugin.json": {"name": "cc-demo", "version": "1.0.0"}}, "cc")
    assert claude.format == "claude" and claude.manifest.id == "cc-demo"
    alias = parse(tmp_path, {"cc-plugin.json": {"name": "cc-alias", "version": "1.0.0"}}, "alias")
    assert alias.format == "claude" and alias.manifest_file == "cc-plugin.json"
    layout = parse(tmp_path, {"skills/hello/SKILL.md": "---\nname: hello\ndescription: Hi\n---\nHello"},
                   "My Skills")
    assert layout.format == "claude-layout" and layout.manifest.id == "my-skills"
    mcp = parse(tmp_path, {".mcp.json": {"mcpServers": {"time": {"command": "python3", "args": ["-V"]}}}},
                "time-server")
    assert mcp.format == "mcp-json" and mcp.manifest.of_type("mcp_server")[0].name == "time"


def test_empty_folder_has_no_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    assert not has_manifest(folder)
    assert "no plugin manifest found" in only_error(load_plugin_folder(folder))


def test_load_manifest_file_by_name(tmp_path: Path) -> None:
    folder = write_plugin(tmp_path, "p", {
        "custom.toml": '[plugin]\nid = "custom"\nversion = "1.0.0"\n',
        "package.json": {"name": "pkg", "version": "1.0.0", "aleph": {}},
        ".claude-plugin/plugin.json": {"name": "cc", "version": "1.0.0"}})
    assert load_manifest_file(folder / "custom.toml").manifest.id == "custom"
    assert load_manifest_file(folder / "package.json").manifest.id == "pkg"
    assert load_manifest_file(folder / ".claude-plugin/plugin.json").manifest.id == "cc"
    assert load_manifest_file(folder).manifest.id == "pkg"  # a folder: package.json comes before Claude
    missing = load_manifest_file(folder / "nope.toml")
    assert missing.manifest is None and "does not exist" in only_error(missing)
    (folder / "notes.txt").write_text("hi")
    assert "is not a manifest file" in only_error(load_manifest_file(folder / "notes.txt"))


def test_problems_serialise_for_the_ui(tmp_path: Path) -> None:
    result = parse(tmp_path, {"plugin.toml": '[plugin]\nid = "Bad Id"\nversion = "1"\n'})
    dumped = [p.model_dump() for p in result.problems]
    assert {"severity", "file", "field", "message"} == set(dumped[0])
    json.dumps(dumped)


# -- the fast schema check never accepts what the JSON Schema meta-schema rejects ---------------------

_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"]


def _schemas(depth: int = 2) -> st.SearchStrategy:
    """Mostly well-formed schemas, each keyword sometimes given a wrong value."""
    child = st.deferred(lambda: _schemas(depth - 1)) if depth else st.just({"type": "string"})
    anything = st.one_of(st.none(), st.booleans(), st.integers(-2, 5), st.text(max_size=2),
                         st.lists(st.integers(0, 2), max_size=2))
    values = {
        "type": st.one_of(st.sampled_from(_TYPES), st.lists(st.sampled_from(_TYPES), max_size=3),
                          st.just("thing"), st.just(5)),
        "properties": st.one_of(st.dictionaries(st.text(max_size=3), child, max_size=3), st.just([1])),
        "items": st.one_of(child, st.booleans(), st.lists(child, max_size=1)),
        "additionalProperties": st.one_of(child, st.booleans(), st.just("no")),
        "required": st.one_of(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3), st.just("a"),
                              st.just([1])),
        "enum": st.one_of(st.lists(anything, max_size=3), anything),
        "examples": st.one_of(st.lists(anything, max_size=2), anything),
        "description": st.one_of(st.text(max_size=5), st.integers()),
        "format": st.one_of(st.sampled_from(["date", "email"]), st.booleans()),
        "default": anything, "const": anything,
        "minLength": st.one_of(st.integers(-2, 5), st.floats(0, 3), st.booleans()),
        "maximum": st.one_of(st.integers(-5, 5), st.floats(allow_nan=False, width=16), st.text(max_size=1)),
        "uniqueItems": st.one_of(st.booleans(), st.integers(0, 1)),
        "deprecated": st.one_of(st.booleans(), st.text(max_size=1)),
        "oneOf": st.lists(child, max_size=2), "pattern": st.sampled_from(["^a+$", "("]),
        "$ref": st.just("#/$defs/x"),
    }
    keys = st.lists(st.sampled_from(sorted(values)), unique=True, max_size=4)
    return keys.flatmap(lambda ks: st.fixed_dictionaries({k: values[k] for k in ks}))


@settings(max_examples=300, deadline=None)
@given(_schemas())
def test_fast_schema_path_agrees_with_jsonschema(schema: dict) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    from aleph_gui.core.json_schema import plainly_valid_schema

    if plainly_valid_schema(schema):
        try:
            Draft202012Validator.check_schema(schema)
            valid = True
        except SchemaError:
            valid = False
        assert valid, f"fast path accepted an invalid schema {schema!r}"


def test_a_fifo_named_like_a_manifest_does_not_hang_discovery(tmp_path: Path) -> None:
    folder = tmp_path / "trap"
    folder.mkdir()
    os.mkfifo(folder / "plugin.toml")  # opening it for reading would block forever without O_NONBLOCK
    result = load_plugin_folder(folder)
    assert result.manifest is None and "the file is empty" in only_error(result)
