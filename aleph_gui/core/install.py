"""Install a plugin from a folder or a `.zip` into the user location, safely.

Nothing here runs plugin code: the archive is unpacked into a staging folder next to the
target, validated, and only then moved into place. A staged plugin is one `.install-*` folder of
its own, so whoever refuses it afterwards (a duplicate id) removes everything by removing it, and
every refusal here removes what it staged: a refused install leaves nothing behind.
"""

from __future__ import annotations

import lzma
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from aleph_gui.core.discovery import load_one, plugin_folders
from aleph_gui.core.errors import ManifestError
from aleph_gui.core.inventory import DiscoveredPlugin
from aleph_gui.core.manifest.detect import has_manifest

MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # refuse zip bombs
MAX_MEMBERS = 20_000
# A member that expands this many times over and past BOMB_FLOOR bytes is a zip bomb, not a plugin
# (code and data compress 2-20x; zeros 1000x).
MAX_RATIO = 100
BOMB_FLOOR = 8 * 1024 * 1024
# What a damaged archive raises while it is read (bad CRC, truncated stream, unknown method, encryption).
UNREADABLE = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError, RuntimeError,
              ValueError, OSError)
IGNORED_NAMES = {"node_modules", ".git", "__pycache__"}


class InstallError(ManifestError):
    """The archive or folder cannot be installed (traversal, bomb, invalid manifest, duplicate id)."""


def _check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    pure = PurePosixPath(name)
    if not pure.parts or pure.parts == (".",):  # "", "." or "./" would be the target folder itself
        raise InstallError(None, f"the archive contains an entry with an empty name ('{info.filename}')")
    if pure.is_absolute() or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise InstallError(None, f"the archive contains an absolute path '{info.filename}'")
    if ".." in pure.parts:
        raise InstallError(None, f"the archive entry '{info.filename}' would be written outside the plugin folder")
    mode = (info.external_attr >> 16) & 0xFFFF
    if stat.S_ISLNK(mode):
        raise InstallError(None, f"the archive entry '{info.filename}' is a symbolic link; links are not installed")
    return pure


def unpack_zip(archive: Path, target: Path) -> None:
    """Extract `archive` into `target`, refusing traversal, links, duplicates and zip bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except UNREADABLE as exc:
        raise InstallError(None, f"{archive.name} is not a readable zip archive ({exc})") from exc
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise InstallError(None, f"the archive has {len(members)} entries (at most {MAX_MEMBERS})")
        seen: set[str] = set()
        total = packed = 0
        for info in members:
            pure = _check_member(info)
            key = str(pure).rstrip("/")
            if key in seen:
                raise InstallError(None, f"the archive contains '{info.filename}' twice")
            seen.add(key)
            total += info.file_size
            packed += info.compress_size
            if info.file_size > BOMB_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise InstallError(None, f"'{info.filename}' expands {info.file_size // max(info.compress_size, 1)}"
                                         " times over; refusing what looks like a zip bomb")
            if total > BOMB_FLOOR and total > MAX_RATIO * max(packed, 1):  # many small bombs
                raise InstallError(None, f"the archive expands {total // max(packed, 1)} times over; refusing "
                                         "what looks like a zip bomb")
            if total > MAX_UNPACKED_BYTES:
                raise InstallError(None, "the archive unpacks to more than 512 MiB; refusing it")
        for info in members:
            try:
                _extract(zf, info, target / _check_member(info))
            except UNREADABLE as exc:
                raise InstallError(None, f"'{info.filename}' cannot be unpacked: {exc}") from exc


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> None:
    if info.is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zf.open(info) as src, open(dest, "wb") as out:
        while chunk := src.read(1 << 16):
            written += len(chunk)
            if written > info.file_size:  # lying header: stop at the declared size
                raise InstallError(None, f"'{info.filename}' is larger than its header says")
            out.write(chunk)


def _single_plugin_root(staging: Path) -> Path:
    """The plugin folder inside an unpacked archive: the root itself or its only top folder."""
    if has_manifest(staging):
        return staging
    candidates = plugin_folders(staging)
    valid = [c for c in candidates if has_manifest(c)]
    if len(valid) == 1:
        return valid[0]
    if not valid:
        raise InstallError(None, "no plugin manifest found in what you chose to install")
    raise InstallError(None, f"found {len(valid)} plugins in one archive; install them one by one")


def stage(source: Path, staging_parent: Path) -> tuple[Path, DiscoveredPlugin]:
    """Copy or unpack `source` into a staging folder; return (plugin folder, parsed plugin).

    The plugin folder returned is a top-level `.install-*` folder holding nothing but the plugin:
    removing it (or moving it into place) leaves no staging folder behind.
    """
    staging_parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".install-", dir=staging_parent))
    try:
        if source.is_dir():
            dest = staging / source.name
            shutil.copytree(source, dest, symlinks=True,
                            ignore=shutil.ignore_patterns(*IGNORED_NAMES))
            for link in dest.rglob("*"):
                if link.is_symlink():
                    raise InstallError(None, f"'{link.relative_to(dest)}' is a symbolic link; links are not installed")
        elif source.suffix.lower() == ".zip":
            unpack_zip(source, staging)
        else:
            raise InstallError(None, f"{source} is neither a plugin folder nor a .zip archive")
        root = _single_plugin_root(staging)
        found = load_one(root, "user")
        if not found.valid:
            first = next((p for p in found.problems if p.severity == "error"), None)
            raise InstallError(found.id, f"the plugin is not valid: {first.sentence() if first else 'unreadable'}")
        if root == staging:
            return root, found
        # Parsed under its own folder name (some formats take the id from it); now made the staging
        # folder itself, so that removing the plugin folder removes everything staged.
        alone = Path(tempfile.mkdtemp(prefix=".install-", dir=staging_parent))
        alone.rmdir()
        root.rename(alone)
        shutil.rmtree(staging, ignore_errors=True)
        return alone, found
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def move_into_place(staged_root: Path, target: Path, replace: bool) -> None:
    """Move the staged plugin (`stage`'s folder) to `target`, replacing an old copy when asked; refused:
    the staged folder is removed."""
    try:
        if target.exists():
            if not replace:
                raise InstallError(target.name, "a plugin with this id is already installed; use --replace")
            old = target.with_name(f".old-{target.name}")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            staged_root.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staged_root.rename(target)
    except BaseException:
        shutil.rmtree(staged_root, ignore_errors=True)
        raise
