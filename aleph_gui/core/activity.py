"""Activity at a glance: per plugin, calls per minute and p50 / p95 duration over the last hour, the
slowest handler and the most frequent blocker — computed from trace records, nothing else.

Pure and stdlib-only: the window feeds it the `TraceRecord`s it receives (`HookTraced` events, and
the audit log's last hour at start-up) and asks for figures when it repaints. It holds one-minute
cells per (plugin, event, handler); a duration goes into a log-scale histogram (8 bins per doubling,
so a percentile is exact to about 6 %) instead of being stored, which keeps an hour of 5,000 calls a
second in a few thousand small dicts and makes `add` a handful of integer operations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

WINDOW_S = 3600
BUCKET_S = 60
_SUB_BITS = 3  # 2**3 = 8 histogram bins per doubling of the duration


class Traced(Protocol):
    """What a record needs to be counted (a `trace.TraceRecord` fits)."""

    @property
    def time(self) -> float: ...
    @property
    def event(self) -> str: ...
    @property
    def plugin(self) -> str: ...
    @property
    def handler(self) -> str: ...
    @property
    def decision(self) -> str: ...
    @property
    def duration_ns(self) -> int: ...
    @property
    def error(self) -> str: ...


def duration_bin(ns: int) -> int:
    """The histogram bin of a duration: exact below 8 ns, then 8 bins per doubling."""
    if ns < 8:
        return max(ns, 0)
    e = ns.bit_length()
    return (e << _SUB_BITS) + (ns >> (e - 1 - _SUB_BITS)) - 8


def bin_value(b: int) -> float:
    """The middle of a bin's range, in nanoseconds (the inverse of `duration_bin`)."""
    if b < 8:
        return float(b)
    e, top = b >> _SUB_BITS, (b & 7) + 8
    shift = e - 1 - _SUB_BITS
    return ((top << shift) + ((top + 1) << shift)) / 2


def percentile(hist: dict[int, int], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram, in nanoseconds; None when it is empty."""
    total = sum(hist.values())
    if not total:
        return None
    rank = max(1, math.ceil(q * total))  # nearest rank: p95 of two calls is the slower one
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= rank:
            return bin_value(b)
    return bin_value(max(hist))


class _Cell:
    """One minute of one (plugin, event, handler)."""

    __slots__ = ("blocks", "calls", "errors", "hist", "max_ns")

    def __init__(self) -> None:
        self.calls = 0
        self.blocks = 0
        self.errors = 0
        self.max_ns = 0
        self.hist: dict[int, int] = {}

    def merge_into(self, hist: dict[int, int]) -> None:
        for b, n in self.hist.items():
            hist[b] = hist.get(b, 0) + n


@dataclass(frozen=True)
class HandlerStat:
    """One handler's last hour."""

    plugin: str
    event: str
    handler: str
    calls: int
    blocks: int
    errors: int
    p50_us: float
    p95_us: float
    max_us: float

    @property
    def label(self) -> str:
        """`plugin · event → handler()` as the user reads it."""
        what = f"{self.handler}()" if self.handler else self.event
        return f"{self.plugin} · {self.event} → {what}" if self.handler and self.event else f"{self.plugin} · {what}"


@dataclass(frozen=True)
class PluginActivity:
    """One plugin's last hour; series are oldest first, one entry per minute."""

    plugin: str
    calls: int
    blocks: int
    errors: int
    per_minute: list[int]
    p50_us: float | None
    p95_us: float | None
    p50_per_minute: list[float | None]
    p95_per_minute: list[float | None]
    slowest: HandlerStat | None
    top_blocker: HandlerStat | None

    @property
    def last_minute(self) -> int:
        return self.per_minute[-1] if self.per_minute else 0

    @property
    def busiest_minute(self) -> int:
        return max(self.per_minute, default=0)


def _us(ns: float | None) -> float | None:
    return None if ns is None else ns / 1000


class Activity:
    """Calls, durations and blocks per plugin over a sliding window (default: the last hour)."""

    def __init__(self, window_s: int = WINDOW_S, bucket_s: int = BUCKET_S) -> None:
        if window_s <= 0 or bucket_s <= 0 or window_s % bucket_s:
            raise ValueError("window_s must be a positive multiple of bucket_s")
        self.window_s = window_s
        self.bucket_s = bucket_s
        self.buckets = window_s // bucket_s
        # minute -> plugin -> (event, handler) -> cell, for reading; and the same cells under one flat
        # key, so counting a record is one dict lookup (the window feeds thousands a second)
        self._cells: dict[int, dict[str, dict[tuple[str, str], _Cell]]] = {}
        self._flat: dict[tuple[int, str, str, str], _Cell] = {}
        self._newest = 0
        self.version = 0  # bumped on every change, so a view can skip repaints when nothing changed

    # -- feeding ---------------------------------------------------------------------------------
    def add(self, record: Traced) -> None:
        self.add_many((record,))

    def add_many(self, records: Iterable[Traced]) -> None:
        """Count records (any order; records older than the window are ignored)."""
        size = self.bucket_s
        flat = self._flat
        oldest = self._newest - self.buckets + 1
        added = False
        for r in records:
            minute = int(r.time // size)
            if minute < oldest:
                continue
            if minute > self._newest:
                self._newest = minute
                oldest = minute - self.buckets + 1
            plugin, event, handler = r.plugin, r.event, r.handler
            cell = flat.get((minute, plugin, event, handler))
            if cell is None:
                cell = self._new_cell(minute, plugin, event, handler)
            cell.calls += 1
            ns = r.duration_ns
            if ns < 8:  # duration_bin, inlined: this loop is the window's per-record cost
                b = ns if ns > 0 else 0
            else:
                e = ns.bit_length()
                b = (e << _SUB_BITS) + (ns >> (e - 1 - _SUB_BITS)) - 8
            hist = cell.hist
            hist[b] = hist.get(b, 0) + 1
            if ns > cell.max_ns:
                cell.max_ns = ns
            if r.decision == "block":
                cell.blocks += 1
            if r.error:
                cell.errors += 1
            added = True
        if added:
            self.version += 1
            self._evict(oldest)

    def _new_cell(self, minute: int, plugin: str, event: str, handler: str) -> _Cell:
        cell = self._flat[(minute, plugin, event, handler)] = _Cell()
        self._cells.setdefault(minute, {}).setdefault(plugin, {})[(event, handler)] = cell
        return cell

    def clear(self) -> None:
        self._cells.clear()
        self._flat.clear()
        self._newest = 0
        self.version += 1

    def _evict(self, oldest: int) -> None:
        for minute in [m for m in self._cells if m < oldest]:
            for plugin, mine in self._cells.pop(minute).items():
                for event, handler in mine:
                    del self._flat[(minute, plugin, event, handler)]

    # -- reading ---------------------------------------------------------------------------------
    def _minutes(self, now: float | None) -> range:
        current = int((time.time() if now is None else now) // self.bucket_s)
        return range(current - self.buckets + 1, current + 1)

    def plugins(self, now: float | None = None) -> set[str]:
        """Plugins with at least one call in the window."""
        out: set[str] = set()
        for minute in self._minutes(now):
            out.update(self._cells.get(minute, ()))
        return out

    def sparkline(self, plugin: str, now: float | None = None) -> list[int]:
        """Calls per minute over the window, oldest first."""
        cells = self._cells
        return [sum(c.calls for c in cells.get(m, {}).get(plugin, {}).values()) for m in self._minutes(now)]

    def sparklines(self, now: float | None = None) -> dict[str, list[int]]:
        """`sparkline` of every plugin active in the window, in one pass."""
        minutes = self._minutes(now)
        out: dict[str, list[int]] = {}
        for n, minute in enumerate(minutes):
            for plugin, mine in self._cells.get(minute, {}).items():
                series = out.get(plugin)
                if series is None:
                    series = out[plugin] = [0] * len(minutes)
                series[n] = sum(c.calls for c in mine.values())
        return out

    def calls(self, plugin: str, now: float | None = None) -> int:
        return sum(self.sparkline(plugin, now))

    def plugin(self, plugin: str, now: float | None = None) -> PluginActivity:
        """One plugin's calls, percentiles (overall and per minute), slowest handler and top blocker."""
        minutes = self._minutes(now)
        per_minute: list[int] = []
        p50s: list[float | None] = []
        p95s: list[float | None] = []
        total: dict[int, int] = {}
        handlers: dict[tuple[str, str], list[_Cell]] = {}
        blocks = errors = 0
        for minute in minutes:
            hist: dict[int, int] = {}
            calls = 0
            for key, cell in self._cells.get(minute, {}).get(plugin, {}).items():
                calls += cell.calls
                blocks += cell.blocks
                errors += cell.errors
                cell.merge_into(hist)
                handlers.setdefault(key, []).append(cell)
            per_minute.append(calls)
            p50s.append(_us(percentile(hist, 0.5)))
            p95s.append(_us(percentile(hist, 0.95)))
            for b, n in hist.items():
                total[b] = total.get(b, 0) + n
        stats = [_stat((plugin, *key), cells) for key, cells in handlers.items()]
        return PluginActivity(
            plugin=plugin, calls=sum(per_minute), blocks=blocks, errors=errors, per_minute=per_minute,
            p50_us=_us(percentile(total, 0.5)), p95_us=_us(percentile(total, 0.95)),
            p50_per_minute=p50s, p95_per_minute=p95s,
            slowest=max(stats, key=lambda s: (s.p95_us, s.calls), default=None),
            top_blocker=max((s for s in stats if s.blocks), key=lambda s: (s.blocks, s.calls), default=None),
        )

    def handlers(self, now: float | None = None) -> list[HandlerStat]:
        """Every handler with a call in the window (all plugins)."""
        grouped: dict[tuple[str, str, str], list[_Cell]] = {}
        for minute in self._minutes(now):
            for plugin, mine in self._cells.get(minute, {}).items():
                for (event, handler), cell in mine.items():
                    grouped.setdefault((plugin, event, handler), []).append(cell)
        return [_stat(key, cells) for key, cells in grouped.items()]

    def leaders(self, now: float | None = None) -> tuple[HandlerStat | None, HandlerStat | None]:
        """(slowest handler, most frequent blocker) in one pass over the window."""
        stats = self.handlers(now)
        return (max(stats, key=lambda s: (s.p95_us, s.calls), default=None),
                max((s for s in stats if s.blocks), key=lambda s: (s.blocks, s.calls), default=None))

    def slowest_handler(self, now: float | None = None, min_calls: int = 1) -> HandlerStat | None:
        """The handler with the highest p95 duration (ties: more calls) among those called at least
        `min_calls` times — one slow outlier call of a rarely used handler can be filtered out."""
        stats = [s for s in self.handlers(now) if s.calls >= min_calls]
        return max(stats, key=lambda s: (s.p95_us, s.calls), default=None)

    def top_blocker(self, now: float | None = None) -> HandlerStat | None:
        """The handler that blocked the most calls in the window (None when nothing was blocked)."""
        return max((s for s in self.handlers(now) if s.blocks), key=lambda s: (s.blocks, s.calls), default=None)


def _stat(key: tuple[str, str, str], cells: list[_Cell]) -> HandlerStat:
    hist: dict[int, int] = {}
    for cell in cells:
        cell.merge_into(hist)
    return HandlerStat(plugin=key[0], event=key[1], handler=key[2],
                       calls=sum(c.calls for c in cells), blocks=sum(c.blocks for c in cells),
                       errors=sum(c.errors for c in cells),
                       p50_us=(percentile(hist, 0.5) or 0.0) / 1000, p95_us=(percentile(hist, 0.95) or 0.0) / 1000,
                       max_us=max(c.max_ns for c in cells) / 1000)
