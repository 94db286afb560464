"""The one layout every banner in the window uses: icon, message (stretching), action button."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


def banner_layout(frame: QFrame, icon_label: QLabel, message: QLabel, button: QPushButton) -> QHBoxLayout:
    layout = QHBoxLayout(frame)
    layout.setContentsMargins(8, 4, 8, 4)
    layout.addWidget(icon_label)
    layout.addWidget(message, 1)
    layout.addWidget(button)
    return layout
