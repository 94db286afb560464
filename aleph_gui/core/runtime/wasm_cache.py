"""Compiled WASM modules, kept by file identity + Extism manifest + linked host functions (LRU).

Extism stops a timed-out call by bumping the epoch of the compiled module's engine, which also
aborts calls running in *other* instances made from the same `CompiledPlugin`. So compiled modules
are only shared by runtimes of the same plugin version and scope (a reload of an unchanged module),
and each runtime calls one instance per compiled module, one call at a time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extism.extism import CompiledPlugin

COMPILE_CACHE_ENTRIES = 64


@dataclass(frozen=True)
class CompileKey:
    path: str
    mtime_ns: int
    ctime_ns: int
    size: int
    inode: int
    manifest_hash: str

    @property
    def file_identity(self) -> tuple[int, int, int, int]:
        return (self.mtime_ns, self.ctime_ns, self.size, self.inode)


class CompileCache:
    """Compiled modules by file identity + Extism manifest + linked host functions (LRU)."""

    def __init__(self, max_entries: int = COMPILE_CACHE_ENTRIES) -> None:
        self._max = max_entries
        self._entries: OrderedDict[CompileKey, CompiledPlugin] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(path: Path, manifest: dict[str, Any], functions: list[str]) -> CompileKey:
        st = path.stat()
        digest = hashlib.sha256(json.dumps([manifest, sorted(functions)], sort_keys=True).encode()).hexdigest()
        return CompileKey(str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, digest)

    def get(self, key: CompileKey) -> CompiledPlugin | None:
        with self._lock:
            compiled = self._entries.get(key)
            if compiled is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            return compiled

    def put(self, key: CompileKey, compiled: CompiledPlugin) -> None:
        with self._lock:
            self.misses += 1
            # an older version of the same file is never asked for again
            for stale in [k for k in self._entries if k.path == key.path and k.file_identity != key.file_identity]:
                del self._entries[stale]
            self._entries[key] = compiled
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@functools.cache
def shared_compile_cache() -> CompileCache:
    """The process-wide cache every WasmRuntime uses unless it is given its own."""
    return CompileCache()
