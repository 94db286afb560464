"""`aleph-ext claude install|uninstall`: Aleph's hooks and MCP server into Claude's files, and out again.

Every file is checked before any is written (a malformed one is refused with one sentence and nothing
changes), backed up next to itself before it changes, and written atomically. `uninstall` removes exactly
what `install` added; when what is left equals a backup `install` made, that backup's bytes are put back, and a
file `install` created is deleted again with the folders made for it. Locations: see `claude_config`.
"""

from __future__ import annotations

import copy
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aleph_gui.gateways import json_settings as js
from aleph_gui.gateways.claude_config import (
    SCOPES,
    Target,
    add_entries,
    aleph_ext_command,
    remove_entries,
    targets,
)
from aleph_gui.gateways.json_settings import SettingsFileError

# -- plans: what happens to each file ------------------------------------------------------------------


@dataclass
class FileChange:
    """What happened (or, in a dry run, would happen) to one file."""

    path: Path
    action: str  # created | updated | unchanged | restored | removed
    diff: str = ""
    backup: Path | None = None
    notes: list[str] = field(default_factory=list)
    content: bytes | None = field(default=None, repr=False)  # the new bytes; None = delete the file
    created_folders: list[Path] = field(default_factory=list, repr=False)
    restore_from: Path | None = field(default=None, repr=False)
    old_raw: bytes = field(default=b"", repr=False)
    existed: bool = field(default=True, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "action": self.action, "backup": str(self.backup) if self.backup else None,
                "notes": self.notes, "diff": self.diff}


def _diff(path: Path, old: bytes, new: bytes | None, existed: bool) -> str:
    before = old.decode("utf-8", "replace").splitlines(keepends=True) if existed else []
    after = new.decode("utf-8", "replace").splitlines(keepends=True) if new is not None else []
    lines = difflib.unified_diff(before, after, fromfile=str(path) if existed else "/dev/null",
                                 tofile=str(path) if new is not None else "/dev/null")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _missing_folders(path: Path) -> list[Path]:
    folders = []
    parent = path.parent
    while not parent.exists():
        folders.append(parent)
        parent = parent.parent
    return folders  # deepest first


def plan_install(target: Target, command: list[str]) -> FileChange:
    found = js.load(target.path)
    new = copy.deepcopy(found.data)
    add_entries(new, target, command)
    if new == found.data:
        return FileChange(target.path, "unchanged", notes=["already installed"])
    content = js.render(new, found.style)
    return FileChange(target.path, "updated" if found.exists else "created",
                      _diff(target.path, found.raw, content, found.exists), content=content,
                      created_folders=[] if found.exists else _missing_folders(target.path),
                      old_raw=found.raw, existed=found.exists)


def plan_uninstall(target: Target, command: list[str]) -> FileChange:
    found = js.load(target.path)
    if not found.exists:
        return FileChange(target.path, "unchanged", notes=["not there"], existed=False)
    kept = copy.deepcopy(found.data)
    remove_entries(kept, target, command, prune=False)
    if kept == found.data:
        return FileChange(target.path, "unchanged", notes=["holds nothing Aleph installed"])
    pruned = copy.deepcopy(found.data)
    remove_entries(pruned, target, command, prune=True)
    for earlier in js.backups(target.path):
        if js.is_absence_marker(earlier):
            if pruned == {}:  # install created this file and nothing else was added since: take it away again
                change = FileChange(target.path, "removed", _diff(target.path, found.raw, None, True),
                                    restore_from=earlier, old_raw=found.raw)
                change.created_folders = js.absent_folders(earlier)
                return change
            continue
        try:
            raw = earlier.read_bytes()
            before = js.load(earlier).data
        except (OSError, SettingsFileError):
            continue
        like_before = copy.deepcopy(found.data)
        remove_entries(like_before, target, command, prune=True, like=before)
        if like_before == before:  # nothing else changed since that backup: put its very bytes back
            return FileChange(target.path, "restored", _diff(target.path, found.raw, raw, True), content=raw,
                              restore_from=earlier, old_raw=found.raw, notes=[f"as it was in {earlier.name}"])
    content = js.render(pruned, found.style)
    return FileChange(target.path, "updated", _diff(target.path, found.raw, content, True), content=content,
                      old_raw=found.raw)


def apply(change: FileChange) -> None:
    """Carry out a planned change: backup first, then the write (or the removal)."""
    path = change.path
    if change.action == "unchanged":
        return
    if change.action == "removed":
        try:
            path.unlink(missing_ok=True)
            if change.restore_from is not None:
                change.restore_from.unlink(missing_ok=True)
            for folder in change.created_folders:  # deepest first; a folder someone else filled stays
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        except OSError as exc:
            raise SettingsFileError(f"cannot remove {exc.filename or path} ({exc.strerror or exc})") from exc
        return
    assert change.content is not None
    if change.existed:
        change.backup = js.backup(path, change.old_raw)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsFileError(f"cannot create {path.parent} ({exc.strerror or exc})") from exc
        js.mark_absent(path, change.created_folders)
    js.write_atomic(path, change.content)


# -- install / uninstall --------------------------------------------------------------------------------


@dataclass
class InstallReport:
    """What one install or uninstall did (or, in a dry run, would do) to each file of one scope."""

    scope: str
    operation: str  # install | uninstall
    dry_run: bool
    files: list[FileChange]

    @property
    def changed(self) -> bool:
        return any(f.action != "unchanged" for f in self.files)

    def text(self) -> str:
        """Lines for a terminal: one per file, and the diff of each change in a dry run."""
        target = "Claude Desktop" if self.scope == "desktop" else f"Claude Code ({self.scope} scope)"
        lines = [f"{target}, {self.operation}" + (" (dry run: nothing was written)" if self.dry_run else "") + ":"]
        for f in self.files:
            verb = f"would be {f.action}" if self.dry_run and f.action != "unchanged" else f.action
            extra = [*f.notes] + ([f"backup: {f.backup}"] if f.backup else [])
            lines.append(f"  {verb}: {f.path}" + (f" ({'; '.join(extra)})" if extra else ""))
            if self.dry_run and f.diff:
                lines.extend("    " + line for line in f.diff.rstrip("\n").split("\n"))
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {"scope": self.scope, "operation": self.operation, "dry_run": self.dry_run,
                "files": [f.to_json() for f in self.files]}


def _plan(operation: str, scope: str, home: Path, project: Path, command: list[str]) -> list[FileChange]:
    planner = plan_install if operation == "install" else plan_uninstall
    return [planner(t, command) for t in targets(scope, home, project)]


def _run(operation: str, scope: str, home: Path, project: Path, command: list[str], dry_run: bool) -> InstallReport:
    changes = _plan(operation, scope, home, project, command)  # every file checked before any write
    if not dry_run:
        for change in changes:
            apply(change)
    return InstallReport(scope, operation, dry_run, changes)


def install(scope: str, *, home: Path, project: Path, command: list[str], dry_run: bool = False) -> InstallReport:
    """Add Aleph's hook entries and MCP server for `scope` (user|project|local|desktop).

    `home` is the user's home folder (where `.claude/` and `.claude.json` live), `project` the project folder,
    `command` the absolute command line that starts aleph-ext (with `--home DIR` when one was given).
    Installing twice changes nothing. Raises SettingsFileError (nothing changed) on a malformed file.
    """
    return _run("install", scope, home, project, command, dry_run)


def uninstall(scope: str, *, home: Path, project: Path, command: list[str], dry_run: bool = False) -> InstallReport:
    """Remove exactly the entries `install` added with the same `command`."""
    return _run("uninstall", scope, home, project, command, dry_run)


# -- the CLI's entry points ---------------------------------------------------------------------------


def selected_scopes(scope: str | None, desktop: bool) -> list[str]:
    """`--scope` (default user) and/or `--desktop`: `--desktop` alone means Claude Desktop only."""
    chosen = ["desktop"] if desktop else []
    if scope is not None or not desktop:
        chosen.insert(0, scope or "user")
    for s in chosen:
        if s not in SCOPES:
            raise SettingsFileError(f"unknown scope {s!r}; use one of user, project, local")
    return chosen


def _command_line(operation: str, scope: str | None, desktop: bool, dry_run: bool, aleph_home: str | None,
                  project: str | None, as_json: bool, out: IO[str] | None) -> int:
    out = out or sys.stdout
    home, folder = Path.home(), Path(project or ".").expanduser().absolute()
    command = aleph_ext_command(aleph_home)
    # every file of every scope planned (a malformed one refused) before anything is written
    plans = [(s, _plan(operation, s, home, folder, command)) for s in selected_scopes(scope, desktop)]
    if not dry_run:
        for _, changes in plans:
            for change in changes:
                apply(change)
    reports = [InstallReport(s, operation, dry_run, changes) for s, changes in plans]
    if as_json:
        out.write(json.dumps([r.to_json() for r in reports], indent=2) + "\n")
    else:
        for report in reports:
            out.write(report.text())
        if not dry_run and any(r.changed for r in reports):
            out.write("Restart Claude Code (and Claude Desktop) so they read the changed files.\n")
    return 0


def cmd_claude_install(*, scope: str | None = None, desktop: bool = False, dry_run: bool = False,
                       aleph_home: str | None = None, project: str | None = None, as_json: bool = False,
                       out: IO[str] | None = None) -> int:
    """`aleph-ext claude install [--scope user|project|local] [--desktop] [--dry-run]` (parsed values)."""
    return _command_line("install", scope, desktop, dry_run, aleph_home, project, as_json, out)


def cmd_claude_uninstall(*, scope: str | None = None, desktop: bool = False, dry_run: bool = False,
                         aleph_home: str | None = None, project: str | None = None, as_json: bool = False,
                         out: IO[str] | None = None) -> int:
    """`aleph-ext claude uninstall [--scope ...] [--desktop] [--dry-run]`: with the same options as the install."""
    return _command_line("uninstall", scope, desktop, dry_run, aleph_home, project, as_json, out)
