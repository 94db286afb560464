"""The bars across the top of the window — a message, safe mode, an untrusted project folder — and the one
layout they share: icon, message (stretching), action buttons. None of them blocks like a modal box.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from aleph_gui.ui.icons import icon


def banner_layout(frame: QFrame, icon_label: QLabel, message: QLabel, *buttons: QPushButton) -> QHBoxLayout:
    layout = QHBoxLayout(frame)
    layout.setContentsMargins(8, 4, 8, 4)
    layout.addWidget(icon_label)
    layout.addWidget(message, 1)
    for button in buttons:
        layout.addWidget(button)
    return layout


class MessageBar(QFrame):
    """A dismissible one-line message (errors of actions)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.icon_label = QLabel(self)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Message")
        close = QPushButton("Dismiss", self)
        close.setAccessibleName("Dismiss the message")
        close.clicked.connect(self.hide)
        banner_layout(self, self.icon_label, self.label, close)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        border, back, fore = ("#c0392b", "#fde2e0", "#5a0d06") if error else ("#2e8b57", "#e2f5ea", "#0d3d22")
        self.setStyleSheet(f"#messageBar {{ background: {back}; border: 1px solid {border}; border-radius: 4px; }}"
                           f"#messageBar QLabel {{ color: {fore}; }}")
        self.icon_label.setPixmap(icon("error" if error else "enabled").pixmap(18, 18))
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


class SafeModeBanner(QFrame):
    leave = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("safeModeBanner")
        self.setStyleSheet("#safeModeBanner { background: #dfe9fb; border: 1px solid #3b73c4; border-radius: 4px; }"
                           "#safeModeBanner QLabel { color: #0f2a57; }")
        pic = QLabel(self)
        pic.setPixmap(icon("safe_mode").pixmap(20, 20))
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Safe mode")
        button = QPushButton("Leave safe mode", self)
        button.setAccessibleName("Leave safe mode and run your plugins again")
        button.clicked.connect(self.leave)
        banner_layout(self, pic, self.label, button)
        self.hide()

    def set_count(self, off: int) -> None:
        self.label.setText(f"<b>Safe mode is on.</b> Only built-in plugins run; {off} of your user and project "
                           "plugins are turned off so you can find one that misbehaves. Nothing was changed on "
                           "disk or in your approvals.")


class TrustBanner(QFrame):
    """A project folder whose plugins wait for the user's trust: Trust / Details."""

    trust = Signal(str)  # the folder
    details = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trustBanner")
        self.setStyleSheet("#trustBanner { background: #fff3d6; border: 1px solid #d9891a; border-radius: 4px; }"
                           "#trustBanner QLabel { color: #4a3000; }")
        self.folder = ""
        self.plugins: list[str] = []
        pic = QLabel(self)
        pic.setPixmap(icon("warning").pixmap(20, 20))
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setAccessibleName("Untrusted project folder")
        self.trust_button = QPushButton(icon("enabled"), "Tr&ust folder", self)
        self.trust_button.setAccessibleName("Trust this project folder so its plugins may run")
        self.details_button = QPushButton("Det&ails…", self)
        self.details_button.setAccessibleName("What trusting this folder means")
        self.trust_button.clicked.connect(lambda: self.trust.emit(self.folder))
        self.details_button.clicked.connect(lambda: self.details.emit(self.folder))
        banner_layout(self, pic, self.label, self.details_button, self.trust_button)
        self.hide()

    def set_untrusted(self, folder: str | None, plugins: list[str]) -> None:
        """Show the first untrusted folder and the names of its plugins (None hides the bar)."""
        self.folder = folder or ""
        self.plugins = list(plugins)
        if not folder:
            self.hide()
            return
        n = len(plugins)
        self.label.setText(f"<b>The plugins of {html.escape(folder)} do not run until you trust this folder.</b> "
                           f"{n} plugin{'s' if n != 1 else ''} there: "
                           f"{html.escape(', '.join(plugins[:3]) + (' …' if n > 3 else ''))}.")
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""


def trust_details(folder: str, plugins: list[str]) -> str:
    """What the Details button explains, as rich text."""
    names = "".join(f"<li>{html.escape(p)}</li>" for p in plugins)
    return (f"<p>Plugins in <b>{html.escape(folder)}/.aleph/plugins</b> come with the project, for example a "
            "cloned repository. They can run programs and read files as you, so none of them runs — not even "
            "one that asks for nothing — until you trust the folder.</p>"
            f"<p>Waiting there:</p><ul>{names}</ul>"
            "<p>Trusting the folder does not approve anything: each plugin that asks for permissions still waits "
            "for your review. You can stop trusting the folder at any time (Plugin ▸ Stop trusting this "
            "project folder; or <code>aleph-ext untrust</code>).</p>")
