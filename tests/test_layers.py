"""The one rule that matters most: the core never imports Qt (DESIGN.md § Layers)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"^\s*(?:from|import)\s+(PySide6|qasync|shiboken6)\b", re.MULTILINE)


def test_import_linter_contract_holds() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    proc = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = " ".join(proc.stdout.split())  # contract names may be wrapped
    for contract in ("The core never imports Qt", "The manifest package imports no runtime",
                     "Runtimes never import the manager", "The UI reaches state, runtimes, the loader and "
                     "discovery only through the manager", "The CLI never imports Qt",
                     "The event vocabulary is a leaf", "The host never imports Qt or the window",
                     "The host's client path never imports the core"):
        assert contract in text and "BROKEN" not in text, text


def test_no_core_module_mentions_a_qt_import() -> None:
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "aleph_gui" / "core").rglob("*.py")
                 if FORBIDDEN.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_grep_would_catch_an_offender() -> None:
    assert FORBIDDEN.search("from PySide6.QtCore import QObject")
    assert FORBIDDEN.search("    import qasync")
    assert not FORBIDDEN.search("# PySide6 is only used by aleph_gui.ui")
