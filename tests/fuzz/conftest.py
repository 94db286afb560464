"""Fuzz suite settings: each fuzz test runs twice over — a small profile inside `make test` and a
`soak`-marked big one (`FUZZ_CASES`, default 10,000 cases per target) under `make fuzz`.

A test asks for the `fuzz_cases` argument to get the number of examples of its profile; at the end
of the run one line per target is printed: `FUZZ <target> cases=<n> failures=<n>`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest
from fuzzkit import SMALL_CASES, TALLY, big_cases


def pytest_configure(config: pytest.Config) -> None:
    # Hostile examples are large by design; hypothesis warns about their size on every report.
    config.addinivalue_line("filterwarnings", "ignore::hypothesis.errors.HypothesisWarning")
    config.addinivalue_line("filterwarnings", "ignore:Duplicate name:UserWarning")  # duplicates are the point


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fuzz_cases" in metafunc.fixturenames:
        metafunc.parametrize("fuzz_cases", [
            pytest.param(SMALL_CASES, id="small"),
            pytest.param(big_cases(), id="big", marks=pytest.mark.soak),
        ])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    TALLY.current_item = item.nodeid
    yield
    TALLY.current_item = ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        for target in TALLY.targets_of.get(report.nodeid, ()):
            TALLY.failures[target] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TALLY.cases:
        return
    terminalreporter.write_line("")
    for target in sorted(TALLY.cases):
        terminalreporter.write_line(
            f"FUZZ {target} cases={TALLY.cases[target]} failures={TALLY.failures[target]}")
