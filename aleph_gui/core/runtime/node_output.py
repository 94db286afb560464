"""What a Node.js plugin's process writes besides its answers.

stderr becomes the plugin's log: line by line, Node's own notices left out, at most so many lines a
second, each line capped; its last lines explain a crash. And when an answer on stdout is nested too
deeply to decode, its `id` is still found so the call it answers fails instead of waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable

LogSink = Callable[[str, str], None]

LOG_LINES_PER_SECOND = 200  # a flooding plugin must not flood the UI log
LOG_LINE_CHARS = 4096
# Node's own notice about the permission flag is not the plugin's output.
_NODE_NOISE = ("ExperimentalWarning: Permission is an experimental feature",
               "(Use `node --trace-warnings ...`")
_ERROR_LINE = re.compile(r"^[A-Za-z_$][\w$.]*(Error|Exception)\b")


def _is_noise(line: str) -> bool:
    return any(marker in line for marker in _NODE_NOISE)


class LogLimiter:
    """Passes at most `per_second` lines a second and reports how many it dropped."""

    def __init__(self, sink: LogSink, per_second: int = LOG_LINES_PER_SECOND) -> None:
        self._sink = sink
        self._per_second = per_second
        self._window = 0.0
        self._count = 0
        self._dropped = 0

    def __call__(self, level: str, message: str) -> None:
        now = time.monotonic()
        if now - self._window >= 1.0:
            self._flush()
            self._window, self._count = now, 0
        if self._count >= self._per_second:
            if not self._dropped:  # say how many were dropped once the window is over
                with contextlib.suppress(RuntimeError):
                    asyncio.get_running_loop().call_later(max(self._window + 1.0 - now, 0.0), self._flush)
            self._dropped += 1
            return
        self._count += 1
        if len(message) > LOG_LINE_CHARS:
            message = message[:LOG_LINE_CHARS] + " …(truncated)"
        self._sink(level, message)

    def _flush(self) -> None:
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            self._sink("warning", f"{dropped} log lines were dropped: the plugin writes too fast")


class StderrReader:
    """The process's stderr, chunk by chunk as the pipe delivers it, into the (limited) log."""

    def __init__(self, log: LogLimiter) -> None:
        self._log = log
        self._partial = bytearray()
        self._tail: deque[str] = deque(maxlen=40)

    def data(self, chunk: bytes) -> None:
        self._partial += chunk
        *lines, rest = self._partial.split(b"\n")
        self._partial = bytearray(rest[: LOG_LINE_CHARS * 4])  # a flood without newline stays bounded
        for raw in lines:
            self._line(raw.decode("utf-8", "replace").rstrip("\r"))

    def eof(self) -> None:
        if self._partial:
            self._line(self._partial.decode("utf-8", "replace"))
            self._partial = bytearray()

    def _line(self, text: str) -> None:
        if not text.strip():
            return
        self._tail.append(text)
        if not _is_noise(text):
            self._log("warning", text)

    def last_error_line(self) -> str:
        """The line that best says why the process died: its last `…Error:` line, else its last words."""
        lines = [ln.strip() for ln in self._tail if ln.strip() and not _is_noise(ln)]
        for line in reversed(lines):
            if _ERROR_LINE.match(line):
                return line[:300]
        rest = [ln for ln in lines if not ln.startswith(("at ", "Node.js v"))]
        return rest[-1][:300] if rest else ""


_ID_KEY = re.compile(rb'"id"\s*:\s*(-?\d+)')
_METHOD_KEY = re.compile(rb'"method"\s*:')
_EXACT_SCAN_BYTES = 1024 * 1024  # a byte-by-byte scan in Python beyond this would stall the event loop


def top_level_id(raw: bytes) -> int | None:
    """The numeric `id` of an answer (an object at depth 1 with an `id` and no `method`), found
    without decoding it: it is nested too deeply to decode."""
    ids = set(_ID_KEY.findall(raw))
    if len(ids) == 1 and not _METHOD_KEY.search(raw):  # the usual case, at the regex engine's speed
        return int(ids.pop())
    if not ids or len(raw) > _EXACT_SCAN_BYTES:
        return None
    depth, in_string, escaped = 0, False, False
    found: int | None = None
    for i, byte in enumerate(raw):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
            continue
        if byte == 0x22:
            if depth == 1:
                if _METHOD_KEY.match(raw, i):
                    return None  # a request or notification from the plugin, not an answer
                match = _ID_KEY.match(raw, i)
                if match:
                    found = int(match.group(1))
            in_string = True
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
    return found
