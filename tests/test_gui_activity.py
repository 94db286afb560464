"""The figures behind the window's activity chart and sparklines (aleph_gui/core/activity.py: pure, no Qt)."""

from __future__ import annotations

import pytest

from aleph_gui.core.activity import Activity, bin_value, duration_bin, percentile
from aleph_gui.core.trace import TraceRecord

NOW = 1_700_000_000.0  # a fixed "now", on a minute boundary plus 30 s
NOW = NOW - NOW % 60 + 30


def rec(ago_s: float, plugin: str = "p", us: int = 100, *, handler: str = "h", event: str = "before_tool_call",
        decision: str = "continue", error: str = "") -> TraceRecord:
    return TraceRecord(NOW - ago_s, event, plugin, handler, decision, us * 1000, error, (), "")


@pytest.mark.parametrize("ns", [0, 1, 7, 8, 9, 15, 16, 100, 999, 1000, 12_345, 10**6, 987_654_321])
def test_a_duration_is_kept_within_seven_percent(ns: int) -> None:
    assert abs(bin_value(duration_bin(ns)) - ns) <= max(0.5, 0.07 * ns)


def test_bins_grow_with_the_duration() -> None:
    bins = [duration_bin(ns) for ns in range(0, 5000, 7)]
    assert bins == sorted(bins)


def test_percentiles_of_a_known_spread() -> None:
    a = Activity()
    a.add_many(rec(5, us=us) for us in range(1, 101))  # 1..100 µs
    pa = a.plugin("p", now=NOW)
    assert pa.calls == 100
    assert pa.p50_us == pytest.approx(50, rel=0.08)
    assert pa.p95_us == pytest.approx(95, rel=0.08)
    assert percentile({}, 0.5) is None


def test_calls_per_minute_series_is_oldest_first_and_an_hour_long() -> None:
    a = Activity()
    a.add_many([rec(10), rec(20), rec(65), rec(60 * 59 + 10)])
    series = a.sparkline("p", now=NOW)
    assert len(series) == 60
    assert series[-1] == 2, "two calls in the current minute"
    assert series[-2] == 1, "one a minute earlier"
    assert series[0] == 1, "one 59 minutes ago"
    assert a.plugin("p", now=NOW).last_minute == 2
    assert a.sparklines(now=NOW) == {"p": series}


def test_calls_older_than_an_hour_do_not_count_and_are_dropped() -> None:
    a = Activity()
    a.add_many([rec(2 * 3600), rec(10)])
    assert a.calls("p", now=NOW) == 1
    a.add_many([rec(3 * 3600)])  # arrives late: ignored
    assert a.calls("p", now=NOW) == 1
    # an hour later every minute falls out of the window
    assert a.calls("p", now=NOW + 3600) == 0
    assert a.plugins(now=NOW + 3600) == set()


def test_the_slowest_handler_is_found_by_p95_across_plugins() -> None:
    a = Activity()
    a.add_many([rec(5, "fast", us=10, handler="quick") for _ in range(50)])
    a.add_many([rec(5, "slow", us=9000, handler="crawl", event="message_received") for _ in range(5)])
    slowest = a.slowest_handler(now=NOW)
    assert slowest is not None
    assert (slowest.plugin, slowest.handler, slowest.event) == ("slow", "crawl", "message_received")
    assert slowest.p95_us == pytest.approx(9000, rel=0.08)
    assert slowest.label == "slow · message_received → crawl()"
    assert a.slowest_handler(now=NOW, min_calls=10).plugin == "fast", "a rarely called handler can be skipped"


def test_the_most_frequent_blocker_counts_blocks_only() -> None:
    a = Activity()
    a.add_many([rec(5, "guard", decision="block") for _ in range(3)])
    a.add_many([rec(5, "limiter", decision="block", handler="limit")])
    a.add_many([rec(5, "busy") for _ in range(100)])
    top = a.top_blocker(now=NOW)
    assert top is not None and (top.plugin, top.blocks) == ("guard", 3)
    assert a.plugin("guard", now=NOW).top_blocker == top
    assert a.plugin("busy", now=NOW).top_blocker is None
    assert Activity().top_blocker(now=NOW) is None


def test_one_plugin_summary_counts_errors_and_blocks_per_handler() -> None:
    a = Activity()
    a.add_many([rec(5, error="boom"), rec(5, decision="block", handler="other"), rec(70, us=500)])
    pa = a.plugin("p", now=NOW)
    assert (pa.calls, pa.blocks, pa.errors) == (3, 1, 1)
    assert pa.slowest is not None and pa.slowest.handler == "h"
    assert pa.p95_per_minute[-2] == pytest.approx(500, rel=0.08)
    assert pa.p50_per_minute[0] is None, "a minute with no calls has no percentile"
    assert a.plugin("nobody", now=NOW).calls == 0


def test_version_changes_only_when_something_was_counted() -> None:
    a = Activity()
    before = a.version
    a.add_many([])
    assert a.version == before
    a.add(rec(1))
    assert a.version == before + 1
    a.clear()
    assert a.calls("p", now=NOW) == 0


def test_a_window_must_be_whole_buckets() -> None:
    with pytest.raises(ValueError):
        Activity(window_s=100, bucket_s=60)


def test_leaders_are_the_slowest_handler_and_the_top_blocker_in_one_pass() -> None:
    a = Activity()
    a.add_many([rec(5, "slow", us=5000), rec(5, "guard", decision="block"), rec(5, "guard", decision="block")])
    slowest, blocker = a.leaders(now=NOW)
    assert slowest == a.slowest_handler(now=NOW) and slowest is not None and slowest.plugin == "slow"
    assert blocker == a.top_blocker(now=NOW) and blocker is not None and blocker.plugin == "guard"
    assert Activity().leaders(now=NOW) == (None, None)
