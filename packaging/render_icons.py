"""Render the app icon SVG into the PNG sizes desktops look for (hicolor theme layout).

Run: `python packaging/render_icons.py [OUT_DIR]` (default: packaging/icons). Qt draws the SVG, so
the PNGs match what the window shows; no other tool is needed.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SVG = ROOT / "aleph_gui" / "resources" / "icons" / "aleph.svg"
ICON_NAME = "aleph-gui"
# The sizes freedesktop's hicolor theme and AppStream ask for.
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(out_dir: Path, svg: Path = APP_SVG) -> list[Path]:
    """Write `hicolor/<N>x<N>/apps/aleph-gui.png` for every size plus `scalable/apps/aleph-gui.svg`."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not a valid SVG")
    written: list[Path] = []
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        path = out_dir / "hicolor" / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path), "PNG"):
            raise SystemExit(f"render_icons: could not write {path}")
        written.append(path)
    scalable = out_dir / "hicolor" / "scalable" / "apps" / f"{ICON_NAME}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, scalable)
    written.append(scalable)
    return written


def main() -> int:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "icons"
    for path in render(out_dir):
        print(path.relative_to(out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
