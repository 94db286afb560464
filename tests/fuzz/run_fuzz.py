"""`make fuzz`: run every fuzz target with FUZZ_CASES cases (default 10,000) and print one line per target,
`FUZZ <target> cases=<n> failures=<n>`. Exit status is non-zero when any target failed.

    python tests/fuzz/run_fuzz.py [--cases N] [-k EXPR]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=int(os.environ.get("FUZZ_CASES", 10_000)),
                        help="cases per target (default: FUZZ_CASES or 10,000)")
    parser.add_argument("-k", default="", help="only targets whose test names match (pytest -k)")
    args = parser.parse_args()
    os.environ["FUZZ_CASES"] = str(args.cases)
    pytest_args = [str(HERE), "-m", "soak", "-q", "-p", "no:cacheprovider", "--timeout", "0",
                   "-o", "addopts="]
    if args.k:
        pytest_args += ["-k", args.k]
    # conftest.py prints the FUZZ lines in pytest's terminal summary.
    return int(pytest.main(pytest_args))


if __name__ == "__main__":
    sys.exit(main())
