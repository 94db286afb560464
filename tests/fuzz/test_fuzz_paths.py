"""Every path a manifest names must stay inside the plugin folder: absolute paths, `..` and symlinks
leading out are rejected with an error on that field; safe relative paths are accepted."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from fuzzkit import Scratch, check_parse_result, counted, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from aleph_gui.core.manifest.detect import load_plugin_folder

segment = st.text(st.characters(whitelist_categories=("Ll", "Nd"), whitelist_characters="-_é"),
                  min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))


@dataclass
class HostilePath:
    text: str
    escapes: bool
    link: str = ""  # create this symlink in the plugin folder ...
    link_to: str = ""  # ... pointing here ("outside" = a folder beside the plugin)


@st.composite
def paths(draw: st.DrawFn) -> HostilePath:
    parts = draw(st.lists(segment, min_size=1, max_size=3))
    rel = "/".join(parts)
    how = draw(st.sampled_from(["absolute", "dotdot", "symlink-out", "symlink-abs", "safe", "symlink-in"]))
    if how == "absolute":
        prefix = draw(st.sampled_from(["/", "//", "\\", "~/", "~", "C:\\", "c:/", "\\\\server\\"]))
        return HostilePath(prefix + rel, True)
    if how == "dotdot":
        ups = draw(st.sampled_from(["../", "./../", "a/../../", "../../../../", "a/..\\..\\", "..\\", "x/../"]))
        tail = draw(st.sampled_from(["", "/", "/."]))
        return HostilePath(ups + rel + tail, True)
    if how in ("symlink-out", "symlink-abs"):
        link = draw(segment)
        target = "outside" if how == "symlink-out" else "/"
        return HostilePath(f"{link}/{rel}" if draw(st.booleans()) else link, True, link=link, link_to=target)
    if how == "symlink-in":
        link = draw(segment)
        return HostilePath(f"{link}/{rel}", False, link=link, link_to="inside")
    return HostilePath(draw(st.sampled_from(["", "./"])) + rel, False)


def _prepare(base: Path, path: HostilePath) -> Path:
    """A plugin folder where the safe path exists (so only escaping can make it an error)."""
    folder = base / "plugin"
    outside = base / "outside"
    for root in (folder / "inside", outside):
        target = root / path.text.split("/", 1)[-1] if path.link else folder / path.text
        if not path.escapes or path.link:
            target.mkdir(parents=True, exist_ok=True)
    folder.mkdir(exist_ok=True)
    if path.link:
        link_target = {"outside": outside, "inside": folder / "inside", "/": Path("/")}[path.link_to]
        os.symlink(link_target, folder / path.link)
    elif not path.escapes:
        (folder / path.text).mkdir(parents=True, exist_ok=True)
    return folder


def _errors_at(result, field: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.message for p in result.problems if p.severity == "error" and field in p.field]


def _check(result, field: str, path: HostilePath) -> None:  # type: ignore[no-untyped-def]
    check_parse_result(result)
    errors = _errors_at(result, field)
    if path.escapes:
        assert errors, f"{path.text!r} ({field}) was not rejected: {result.problems}"
    else:
        assert not errors, f"safe path {path.text!r} rejected: {errors}"


def test_escaping_entry_and_component_paths_are_rejected(tmp_path: Path, fuzz_cases: int) -> None:
    @fuzz_settings(fuzz_cases)
    @given(path=paths(), where=st.sampled_from(["toml-entry", "toml-skill", "package-main", "claude-commands",
                                                "claude-agents", "claude-skills", "claude-hooks", "claude-mcp"]))
    @counted("manifest-paths")
    def check(path: HostilePath, where: str) -> None:
        with Scratch(tmp_path / "cases") as base:
            folder = _prepare(base, path)
            text = json.dumps(path.text, ensure_ascii=False)
            if where == "toml-entry":
                # The entry must exist to be valid: make the safe path a file instead of a folder.
                if not path.escapes:
                    target = folder / path.text
                    target.rmdir()
                    target.write_text("module.exports = {register() {}};")
                (folder / "aleph.plugin.toml").write_text(
                    f'[plugin]\nid = "p"\nname = "P"\nversion = "1.0.0"\nkind = "nodejs"\nentry = {text}\n')
                _check(load_plugin_folder(folder), "entry", path)
            elif where == "toml-skill":
                (folder / "aleph.plugin.toml").write_text(
                    f'[plugin]\nid = "p"\nname = "P"\nversion = "1.0.0"\n\n[[capabilities]]\ntype = "skill"\n'
                    f'name = "s"\ndescription = "d"\npath = {text}\n')
                _check(load_plugin_folder(folder), "path", path)
            elif where == "package-main":
                if not path.escapes:
                    target = folder / path.text
                    target.rmdir()
                    target.write_text("module.exports = {register() {}};")
                (folder / "package.json").write_text(json.dumps(
                    {"name": "p", "version": "1.0.0", "main": path.text, "aleph": {"kind": "nodejs"}}))
                _check(load_plugin_folder(folder), "main", path)
            else:
                key = {"claude-commands": "commands", "claude-agents": "agents", "claude-skills": "skills",
                       "claude-hooks": "hooks", "claude-mcp": "mcpServers"}[where]
                if not path.escapes and key in ("hooks", "mcpServers"):
                    target = folder / path.text
                    target.rmdir()
                    target.write_text(json.dumps({"hooks": {}} if key == "hooks" else {"mcpServers": {}}))
                value = [path.text] if key in ("agents", "commands") and len(path.text) % 2 else path.text
                (folder / ".claude-plugin").mkdir()
                (folder / ".claude-plugin" / "plugin.json").write_text(json.dumps({"name": "p", key: value}))
                _check(load_plugin_folder(folder), key, path)

    check()
