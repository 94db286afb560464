"""Fill a demo Aleph home with the plugins of `plugins_demo/`, so a newcomer sees a populated manager.

    python -m aleph_gui.demo_home DIR [--source plugins_demo]

Each demo folder is copied into `DIR/plugins/` only if it is not there yet: a later run never
overwrites what the user changed, but does add demos that appeared since. A few demos are
pre-approved when first copied, so the others show the review flow at first launch.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_SOURCE = Path(__file__).resolve().parent.parent / "plugins_demo"
PRE_GRANTED = ("wasm-wat-text-tools", "node-weather-tools", "mcp-time-server", "node-assistant-kit")
# Dependency and tool caches: large, and rebuilt from the demo's own build files when needed.
# Build outputs (e.g. AssemblyScript's .wasm) are copied: the demo cannot run without them.
SKIPPED = shutil.ignore_patterns("node_modules", "__pycache__", ".git", ".cache", ".pytest_cache",
                                 ".mypy_cache", ".ruff_cache", ".turbo", "*.pyc")


def demo_folders(source: Path) -> list[Path]:
    return sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))


def populate(home: Path, source: Path = DEFAULT_SOURCE) -> list[str]:
    """Copy demos missing from `home/plugins`; pre-grant the chosen ones. Returns the folders copied."""
    from aleph_gui.core.code_digest import CodeDigests
    from aleph_gui.core.discovery import load_one
    from aleph_gui.core.state import StateDB

    plugins = home / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    state = StateDB(home / "state.db")
    digests = CodeDigests()
    try:
        for demo in demo_folders(source):
            target = plugins / demo.name
            if target.exists():
                continue  # the user's copy, possibly edited: leave it alone
            shutil.copytree(demo, target, ignore=SKIPPED, symlinks=True)
            copied.append(demo.name)
            found = load_one(target, "user")
            if found.manifest is not None and (demo.name in PRE_GRANTED or found.id in PRE_GRANTED):
                state.set_grant(found.id, found.manifest.scope, identity=found.identity,
                                code_digest=digests.of(target.resolve()))
                log.info("pre-approved demo plugin %s", found.id)
    finally:
        state.close()
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aleph_gui.demo_home", description=__doc__.splitlines()[0])
    parser.add_argument("home", help="the demo Aleph home to fill (created if missing)")
    parser.add_argument("--source", default=str(DEFAULT_SOURCE), help="folder holding the demo plugins")
    args = parser.parse_args(argv)
    source = Path(args.source)
    if not source.is_dir():
        print(f"demo plugins not found at {source} (they ship with the source checkout only)", file=sys.stderr)
        return 1
    copied = populate(Path(args.home).expanduser().resolve(), source)
    if copied:
        print(f"copied {len(copied)} demo plugin(s) into {Path(args.home) / 'plugins'}: {', '.join(copied)}",
              file=sys.stderr)
    else:
        print(f"demo home {args.home} is up to date", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
