"""Plugin id rules, Aleph's name sanitising, and paths that must stay inside the plugin folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aleph_gui.core.manifest.ids import ID_RULE, is_valid_id, sanitize_id
from aleph_gui.core.manifest.paths import path_escape_reason


@pytest.mark.parametrize("value", ["a", "my-plugin", "x1", "abc-123-def", "a" * 64])
def test_valid_ids(value: str) -> None:
    assert is_valid_id(value)


@pytest.mark.parametrize("value", ["", "My-Plugin", "my_plugin", "1plugin", "-a", "a-", "a--b", "a b",
                                   "a" * 65, "plugin.x", "é"])
def test_invalid_ids(value: str) -> None:
    assert not is_valid_id(value)


@pytest.mark.parametrize(("name", "expected"), [
    ("My Plugin", "my-plugin"),
    ("@org/x", "x"),
    ("@acme/Weather Tools", "weather-tools"),
    ("My_Plugin", "my-plugin"),
    ("  spaced  out  ", "spaced-out"),
    ("123 go", "go"),
    ("!!!", ""),
    ("a" * 80, "a" * 64),
])
def test_sanitize_like_aleph(name: str, expected: str) -> None:
    assert sanitize_id(name) == expected
    assert expected == "" or is_valid_id(expected)


def test_rule_text_is_for_people() -> None:
    assert "lowercase letters, digits and single hyphens" in ID_RULE


@pytest.mark.parametrize("relative", ["plugin.wasm", "src/index.js", "./src/index.js", "does/not/exist/yet.js"])
def test_paths_inside_are_fine(tmp_path: Path, relative: str) -> None:
    assert path_escape_reason(tmp_path, relative) is None


@pytest.mark.parametrize(("relative", "says"), [
    ("", "is empty"),
    ("a\x00b", "NUL"),
    ("../x", "uses '..'"),
    ("src/../../x", "uses '..'"),
    ("/abs/x", "absolute path"),
    ("~/x", "absolute path"),
    ("C:\\x", "absolute path"),
    ("\\\\server\\share", "absolute path"),
])
def test_paths_that_leave_are_refused(tmp_path: Path, relative: str, says: str) -> None:
    reason = path_escape_reason(tmp_path, relative)
    assert reason is not None and says in reason


def test_symlink_out_is_refused_and_symlink_within_is_fine(tmp_path: Path) -> None:
    root = tmp_path / "plugin"
    (root / "inner").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "out.txt")
    os.symlink(root / "inner", root / "alias")
    assert "through a symlink" in path_escape_reason(root, "out.txt")
    assert path_escape_reason(root, "alias/file.txt") is None


def test_symlink_loop_is_reported_not_raised(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    reason = path_escape_reason(tmp_path, "a/x")
    assert reason is not None
