"""Find plugin folders in the three locations (project > user > builtin).

Each child folder of a location is a plugin when it holds a manifest (any format of
DESIGN.md's detection order); otherwise its own children are tried (a monorepo, one level
down). Hidden folders are skipped. A folder that holds nothing recognisable is still listed,
as invalid, so nothing disappears silently.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from aleph_gui.core.inventory import DiscoveredPlugin
from aleph_gui.core.manifest.detect import has_manifest, load_plugin_folder
from aleph_gui.core.manifest.ids import sanitize_id
from aleph_gui.core.paths import Locations
from aleph_gui.core.problems import error

log = logging.getLogger(__name__)


def _children(folder: Path) -> list[Path]:
    try:
        # scandir knows each entry's type from the directory listing: no stat per child
        with os.scandir(folder) as entries:
            return sorted(Path(e.path) for e in entries if not e.name.startswith(".") and e.is_dir())
    except OSError as exc:
        log.warning("cannot list %s: %s", folder, exc)
        return []


def load_one(path: Path, origin: str) -> DiscoveredPlugin:
    """Parse one plugin folder; never raises."""
    result = load_plugin_folder(path)
    plugin_id = result.manifest.id if result.manifest else (result.fallback_id or sanitize_id(path.name) or path.name)
    return DiscoveredPlugin(id=plugin_id, path=path, origin=origin, manifest=result.manifest,
                            problems=list(result.problems), format=result.format,
                            manifest_file=result.manifest_file)


def plugin_folders(root: Path) -> list[Path]:
    """Plugin folders under one location, including monorepo members one level down."""
    found: list[Path] = []
    for child in _children(root):
        if has_manifest(child):
            found.append(child)
            continue
        members = [g for g in _children(child) if has_manifest(g)]
        found.extend(members or [child])  # no manifest anywhere: listed as invalid
    return found


def discover(locations: Locations) -> list[DiscoveredPlugin]:
    """Every plugin folder in every location, parsed. Order: by origin precedence, then path."""
    out: list[DiscoveredPlugin] = []
    for origin, root in locations.plugin_roots():
        if not root.is_dir():
            continue
        # Same result as plugin_folders(), but each folder is detected and parsed only once.
        for child in _children(root):
            found = load_one(child, origin)
            if found.format is None:  # no manifest here: a monorepo, or an invalid plugin folder
                members = [load_one(g, origin) for g in _children(child) if has_manifest(g)]
                if members:
                    out.extend(members)
                    continue
            if found.manifest is None and not found.problems:
                found.problems.append(error(child.name, "", "no plugin manifest found in this folder"))
            out.append(found)
    return out
