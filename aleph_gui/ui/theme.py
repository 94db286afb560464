"""Light and dark palettes, and the words + colours of states, kinds, risks and decisions.

Colour is never the only signal: every coloured thing also has an icon and/or a word.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

STATE_WORDS: dict[str, str] = {
    "enabled": "Enabled", "disabled": "Disabled", "needs_review": "Needs review", "invalid": "Invalid",
    "failed": "Failed", "crashed": "Crashed", "overridden": "Overridden",
}
KIND_WORDS: dict[str, str] = {
    "wasm": "WASM", "nodejs": "Node.js", "claude": "Claude", "static": "Skills", "mcp": "MCP",
}
ORIGIN_WORDS: dict[str, str] = {"project": "Project", "user": "User", "builtin": "Built-in"}
RISK_WORDS: dict[str, str] = {"low": "Low", "medium": "Medium", "high": "High"}
DECISION_WORDS: dict[str, str] = {
    "continue": "continue", "intercept": "intercept", "block": "BLOCK", "skipped": "skipped",
}

# Chip colours work on both palettes: saturated backgrounds with white text.
KIND_COLORS: dict[str, str] = {
    "wasm": "#5b4bc4", "nodejs": "#3c7a3c", "claude": "#b3541e", "static": "#4d6b8a", "mcp": "#1f7a8c",
}
RISK_COLORS: dict[str, str] = {"low": "#2e7d4f", "medium": "#b7791f", "high": "#c0392b"}
STATE_COLORS: dict[str, str] = {
    "enabled": "#2e8b57", "disabled": "#7a7f87", "needs_review": "#d9891a", "invalid": "#c0392b",
    "failed": "#c0392b", "crashed": "#8e2a7a", "overridden": "#7a7f87",
}
ERROR_RED = "#c0392b"  # error text and marks, readable on light and dark
MUTED_GREY = "#7a7f87"  # placeholder rows and "stopped"
ERROR_STYLE = f"color: {ERROR_RED};"
OK_GREEN = STATE_COLORS["enabled"]  # a call or a check that went well
BLOCK_ROW_LIGHT = "#fde2e0"
BLOCK_ROW_DARK = "#5a1f1c"
INTERCEPT_ROW_LIGHT = "#ece8fb"
INTERCEPT_ROW_DARK = "#332c5c"


# A service's or an MCP server's state: (word, icon name, colour).
PROCESS_STATES: dict[str, tuple[str, str, str]] = {
    "running": ("Running", "enabled", STATE_COLORS["enabled"]), "stopped": ("Stopped", "disabled", MUTED_GREY),
    "starting": ("Starting…", "reload", "#3b73c4"), "stopping": ("Stopping…", "reload", "#3b73c4"),
    "failed": ("Failed", "error", ERROR_RED), "crashed": ("Crashed", "crashed", STATE_COLORS["crashed"]),
}


def monospace(widget: QWidget) -> None:
    """Show a log or JSON text in a fixed-width font."""
    font = widget.font()
    font.setFamily("DejaVu Sans Mono")
    font.setStyleHint(font.StyleHint.Monospace)
    widget.setFont(font)


def state_word(state: str) -> str:
    return STATE_WORDS.get(state, state.replace("_", " ").capitalize())


def kind_word(kind: str) -> str:
    return KIND_WORDS.get(kind, kind)


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


# Colours per palette role; "disabled" is the text colour of disabled controls.
DARK_COLORS = {
    "Window": "#23262b", "WindowText": "#e6e8eb", "Base": "#1b1d21", "AlternateBase": "#25282d",
    "ToolTipBase": "#2d3036", "ToolTipText": "#e6e8eb", "PlaceholderText": "#8b9098", "Text": "#e6e8eb",
    "Button": "#2d3036", "ButtonText": "#e6e8eb", "BrightText": "#ff6b6b", "Link": "#79a8ff",
    "Highlight": "#3d6bb3", "HighlightedText": "#ffffff", "disabled": "#7c8088",
}
LIGHT_COLORS = {
    "Window": "#f3f4f6", "WindowText": "#1d2025", "Base": "#ffffff", "AlternateBase": "#f6f7f9",
    "ToolTipBase": "#ffffff", "ToolTipText": "#1d2025", "PlaceholderText": "#6b7079", "Text": "#1d2025",
    "Button": "#e8eaee", "ButtonText": "#1d2025", "BrightText": "#c0392b", "Link": "#1f5fbf",
    "Highlight": "#2f6fd0", "HighlightedText": "#ffffff", "disabled": "#9a9ea6",
}


def palette_from(colors: dict[str, str]) -> QPalette:
    p = QPalette()
    for role, color in colors.items():
        if role != "disabled":
            p.setColor(getattr(QPalette.ColorRole, role), QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(colors["disabled"]))
    return p


def dark_palette() -> QPalette:
    return palette_from(DARK_COLORS)


def light_palette() -> QPalette:
    return palette_from(LIGHT_COLORS)


def apply_theme(app: QApplication, mode: str = "auto") -> None:
    """'light', 'dark' or 'auto' (follow the system colour scheme). Fusion draws both palettes well."""
    app.setStyle("Fusion")
    if mode == "auto":
        hints = QGuiApplication.styleHints()
        from PySide6.QtCore import Qt
        mode = "dark" if hints.colorScheme() == Qt.ColorScheme.Dark else "light"
    app.setPalette(dark_palette() if mode == "dark" else light_palette())
