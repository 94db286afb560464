"""Reading manifest files: one reader, with one set of limits, for every format.

Aleph TOML and JSON manifests, package.json, Claude's plugin.json, hooks.json and .mcp.json are all
read here: at most 1 MiB, never blocking on a FIFO, UTF-8 with or without a byte-order mark, and an
empty file is one clear problem. JSON decoding is shared too, so a syntax error reads the same in
every JSON file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aleph_gui.core.problems import Problem, error

MAX_MANIFEST_BYTES = 1024 * 1024


def read_at_most(path: Path | str, limit: int) -> bytes:
    """Up to `limit` bytes, with plain os calls (no buffering, isatty or seek: discovery reads thousands)."""
    # O_NONBLOCK: a FIFO named like a manifest reads as empty instead of hanging discovery.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        chunks: list[bytes] = []
        remaining = limit
        while remaining > 0:
            want = min(remaining, 65536)  # small buffers: a 1 MiB one per manifest costs an mmap each
            try:
                chunk = os.read(fd, want)
            except BlockingIOError:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
            if len(chunk) < want:
                break  # a short read of a regular file is its end: saves a read per manifest
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_manifest_text(path: Path, file: str) -> tuple[str | None, list[Problem]]:
    """The file's text, or None and one clear problem (missing, too big, empty, not UTF-8)."""
    try:
        data = read_at_most(path, MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        return None, [error(file, "", "the file does not exist")]
    except IsADirectoryError:
        return None, [error(file, "", "is a folder, not a manifest file")]
    except OSError as exc:
        return None, [error(file, "", f"cannot be read: {exc.strerror or exc}")]
    if len(data) > MAX_MANIFEST_BYTES:
        try:
            size = f"{os.stat(path).st_size / 1048576:.1f} MiB"
        except OSError:
            size = "more than 1 MiB"
        return None, [error(file, "", f"the file is {size}; manifests may be at most 1 MiB")]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [error(file, "", f"is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} "
                                      f"at offset {exc.start}); save it as UTF-8")]
    if not text.strip():
        return None, [error(file, "", "the file is empty")]
    return text, []


def decode_json(text: str, file: str) -> tuple[Any, list[Problem]]:
    """The decoded document (`null` decodes to None), or None and one clear problem."""
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [error(file, "", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
    except RecursionError:  # a hostile file nested thousands deep must not take discovery down
        return None, [error(file, "", "is not valid JSON: nested too deeply")]


def read_json(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """`read_manifest_text` then `decode_json`: the document, or None and one clear problem."""
    text, problems = read_manifest_text(path, file)
    if text is None:
        return None, problems
    return decode_json(text, file)
