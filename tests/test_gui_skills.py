"""The skills browser: every skill, command and agent from plugins and the standalone skills folders, with
a filter, where each comes from, collisions, and the body rendered as Markdown."""
# ruff: noqa: F811  (pytest fixtures are imported from test_gui_support and named as arguments)

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from test_gui_support import (  # noqa: F401
    close_window,
    copy_demo,
    make_window,
    modal_guard,
    qloop,
    run,
    settings,
    wait_until,
)

from aleph_gui.core.paths import Locations
from aleph_gui.core.skills import collect_skills
from aleph_gui.ui.skills_browser import SkillsFilter, SkillsModel


def write_skill(folder: Path, name: str, description: str, body: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "SKILL.md").write_text(f"---\nname: {name}\ndescription: {description}\n---\n\n"
                                     + textwrap.dedent(body))


@pytest.fixture
def homes(tmp_path: Path) -> tuple[Path, Path]:
    home, project = tmp_path / "home", tmp_path / "project"
    copy_demo(home, "writing-skills")
    write_skill(home / "skills" / "summarize", "summarize", "Summarize a text in three lines",
                "# Summarize\n\nKeep **three** lines.\n")
    write_skill(project / ".aleph" / "skills" / "summarize", "summarize", "The project's own summary rules",
                "# Project summary\n")
    return home, project


@pytest.fixture
def browser_window(qtbot, qloop, homes, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    home, project = homes
    w = make_window(qtbot, qloop, home, settings, project=project)
    assert w.show_view("Skills")
    yield w
    close_window(qloop, w)


def test_the_browser_lists_plugins_and_both_standalone_folders(browser_window) -> None:
    skills = browser_window.skills
    assert browser_window.skills_dock.isVisible()
    assert sorted(skills.names()) == ["summarize", "summarize", "writing-skills:plain-language",
                                      "writing-skills:release-notes"]
    origins = {skills.model.index(n, 2).data() for n in range(skills.model.rowCount())}
    assert "plugin writing-skills" in origins
    assert any(o.endswith("project/.aleph/skills") for o in origins)
    assert any(o.endswith("home/skills") for o in origins)
    assert skills.count.text() == "4 entries"


def test_the_body_renders_as_markdown(browser_window, qloop) -> None:
    skills = browser_window.skills
    assert skills.select("writing-skills:plain-language")
    wait_until(qloop, lambda: "Plain language" in skills.body.toPlainText())
    first = skills.body.document().firstBlock()
    assert first.text() == "Plain language" and first.blockFormat().headingLevel() == 1, "a heading, not '# …'"
    assert "#" not in skills.body.toPlainText().splitlines()[0]
    assert "plugin writing-skills" in skills.header.text()


def test_a_collision_is_shown_on_the_entry_that_loses_the_name(browser_window, qloop) -> None:
    skills = browser_window.skills
    rows = [n for n in range(skills.model.rowCount()) if skills.model.entry(n).name == "summarize"]
    losers = [n for n in rows if skills.model.entry(n).problems]
    assert len(losers) == 1, "the project's copy keeps the name, the home copy is marked"
    loser = skills.model.entry(losers[0])
    assert skills.model.index(losers[0], 0).data(Qt.ItemDataRole.DecorationRole) is not None
    skills._show_entry(loser)
    assert "Collision:" in skills.header.text() and "is also provided by" in skills.header.text()
    wait_until(qloop, lambda: "Keep three lines." in skills.body.toPlainText())


def test_filter_and_kind_narrow_the_list_and_say_when_nothing_matches(browser_window, qtbot) -> None:
    skills = browser_window.skills
    qtbot.keyClicks(skills.filter_edit, "plain")
    assert skills.names() == ["writing-skills:plain-language"]
    qtbot.keyClick(skills.filter_edit, Qt.Key.Key_Return)
    assert skills.table.hasFocus(), "Enter in the filter goes to the list"
    skills.kind_combo.setCurrentIndex(skills.kind_combo.findData("agent"))
    assert skills.names() == []
    assert skills.list_stack.currentWidget() is skills.placeholder
    assert "Nothing matches" in skills.placeholder.text()


def test_keyboard_moves_through_entries_and_the_body_follows(browser_window, qtbot, qloop) -> None:
    skills = browser_window.skills
    skills.table.setFocus()
    skills.table.selectRow(0)
    first = skills._shown
    qtbot.keyClick(skills.table, Qt.Key.Key_Down)
    assert skills._shown is not None and skills._shown is not first
    wait_until(qloop, lambda: skills.body.toPlainText() not in ("", "Loading…"))


def test_a_new_skill_folder_appears_without_a_restart(browser_window, homes, qloop) -> None:
    home, _ = homes
    skills = browser_window.skills
    assert "translate" not in skills.names()
    write_skill(home / "skills" / "translate", "translate", "Translate text", "# Translate\n")
    browser_window.manager.notify_skills_changed()  # what the folder watcher does on a change
    wait_until(qloop, lambda: "translate" in skills.names())
    (row,) = [n for n in range(skills.model.rowCount()) if skills.model.entry(n).name == "translate"]
    assert skills.model.entry(row).description == "Translate text"


def test_an_empty_home_says_where_skills_come_from(qtbot, qloop, tmp_path, settings) -> None:
    home = tmp_path / "empty"
    (home / "plugins").mkdir(parents=True)
    w = make_window(qtbot, qloop, home, settings)
    assert w.show_view("Skills")
    assert "No skills, commands or agents yet" in w.skills.placeholder.text()
    assert "~/.aleph/skills" in w.skills.placeholder.text()
    close_window(qloop, w)


def test_skills_models_pass_qt_model_checks(qtmodeltester, homes) -> None:
    home, project = homes
    entries = collect_skills(Locations(home=home, project=project, builtin=None), [])
    model = SkillsModel()
    model.set_entries(entries, set())
    qtmodeltester.check(model)
    proxy = SkillsFilter()
    proxy.setSourceModel(model)
    proxy.set_filter(text="summarize")
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == 2
