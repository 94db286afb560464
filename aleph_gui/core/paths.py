"""Where plugins, skills and state live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BUILTIN_PLUGINS = Path(__file__).resolve().parent.parent / "builtin_plugins"


def default_home() -> Path:
    return Path(os.environ.get("ALEPH_HOME") or Path.home() / ".aleph").expanduser()


@dataclass(frozen=True)
class Locations:
    home: Path
    project: Path | None = None
    builtin: Path | None = BUILTIN_PLUGINS

    @classmethod
    def from_args(cls, home: str | os.PathLike[str] | None = None, project: str | os.PathLike[str] | None = None,
                  no_builtin: bool = False) -> Locations:
        home_path = Path(home).expanduser() if home else default_home()
        project_path = Path(project).expanduser() if project else Path.cwd()
        return cls(home=home_path.resolve(), project=project_path.resolve(),
                   builtin=None if no_builtin else BUILTIN_PLUGINS)

    @property
    def user_plugins(self) -> Path:
        return self.home / "plugins"

    @property
    def project_plugins(self) -> Path | None:
        return self.project / ".aleph" / "plugins" if self.project else None

    @property
    def state_db(self) -> Path:
        return self.home / "state.db"

    @property
    def skill_dirs(self) -> list[Path]:
        dirs = [self.home / "skills"]
        if self.project:
            dirs.insert(0, self.project / ".aleph" / "skills")
        return dirs

    def plugin_roots(self) -> list[tuple[str, Path]]:
        """(origin, folder) from highest to lowest precedence."""
        roots: list[tuple[str, Path]] = []
        if self.project_plugins:
            roots.append(("project", self.project_plugins))
        roots.append(("user", self.user_plugins))
        if self.builtin:
            roots.append(("builtin", self.builtin))
        return roots
