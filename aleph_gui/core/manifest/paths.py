"""Paths named in a manifest must stay inside the plugin folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath


def path_escape_reason(root: Path, relative: str) -> str | None:
    """Why `relative` is not a safe path inside `root`, or None when it is.

    Rejects absolute paths, `..` components and symlinks that lead outside the folder.
    A path that does not exist yet is fine as long as it would stay inside.
    """
    if not relative or "\x00" in relative:
        return "is empty or contains a NUL character"
    pure = PurePosixPath(relative.replace("\\", "/"))
    if pure.is_absolute() or relative.startswith(("~", "\\")) or (len(relative) > 1 and relative[1] == ":"):
        return f"'{relative}' is an absolute path; use a path relative to the plugin folder"
    if ".." in pure.parts:
        return f"'{relative}' uses '..' to leave the plugin folder"
    # Lexically inside; only a symlink among its own components can lead out. Checking just
    # those (not resolving the whole absolute path) keeps discovery of many plugins cheap.
    current = str(root)
    for part in pure.parts:
        current = os.path.join(current, part)
        if os.path.islink(current):
            break
    else:
        return None
    try:
        resolved = (root / pure).resolve()
        base = root.resolve()
    except (OSError, RuntimeError):
        return f"'{relative}' cannot be resolved (symlink loop?)"
    if resolved != base and base not in resolved.parents:
        return f"'{relative}' leads outside the plugin folder through a symlink"
    return None
