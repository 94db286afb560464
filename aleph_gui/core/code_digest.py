"""The digest of a plugin's code — every file in its folder — recorded with an approval, so the app can
tell the user when the code changed since they approved it (and refuse replaced code).

Hashing a large Node.js plugin (node_modules) takes a moment, so each file's hash is cached by its
size, modification time and inode: checking an unchanged folder again only stats it.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from pathlib import Path

SKIPPED_FOLDERS = frozenset({".git", ".hg", ".svn", "__pycache__"})  # not code; changes on every checkout
_CHUNK = 1024 * 1024


class CodeDigests:
    """Folder digests with a per-file cache; safe to use from worker threads."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[tuple[int, int, int], bytes]] = {}
        self._lock = threading.Lock()

    def of(self, folder: Path) -> str:
        """sha256 over every file's relative path and content (symlinks by their target), in name order."""
        total = hashlib.sha256()
        root = str(folder)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_FOLDERS)
            for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).encode(errors="surrogateescape")
                try:
                    st = os.lstat(path)
                    if stat.S_ISLNK(st.st_mode):
                        total.update(b"L" + rel + b"\0" + os.readlink(path).encode(errors="surrogateescape") + b"\0")
                    elif stat.S_ISREG(st.st_mode):
                        total.update(b"F" + rel + b"\0" + self._file(path, st) + b"\0")
                except OSError as exc:  # unreadable: part of the digest, so a change still shows
                    total.update(b"E" + rel + b"\0" + str(exc.errno).encode() + b"\0")
        return total.hexdigest()[:32]

    def _file(self, path: str, st: os.stat_result) -> bytes:
        key = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            cached = self._files.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        value = digest.digest()
        with self._lock:
            self._files[path] = (key, value)
        return value
