"""The Overview tab: who the plugin is, its state and approval, and its activity over the last hour (a
small chart, its slowest handler and what it blocks most) — figures from `core.activity`.
"""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from aleph_gui.core.activity import PluginActivity
from aleph_gui.core.inventory import PluginInfo
from aleph_gui.ui import theme
from aleph_gui.ui.activity_chart import ActivityChart, format_us
from aleph_gui.ui.icons import icon

RUNTIME_FACTS = ("runtime", "running", "pid", "calls", "failures", "timeouts", "restarts", "load_ms", "last_error")
WARN_COLOR = "#b7791f"


def glance_text(pa: PluginActivity | None) -> str:
    """The slowest handler and the most frequent blocker of one plugin, one line each. Counts that move
    every second are in the chart (painted): a label whose text changes relayouts the pane."""
    if pa is None or pa.calls == 0:
        return "No calls in the last hour."
    lines = []
    if pa.slowest is not None:
        s = pa.slowest
        lines.append(f"Slowest handler: {s.label} — p95 {format_us(s.p95_us)}, max {format_us(s.max_us)}")
    if pa.top_blocker is not None:
        b = pa.top_blocker
        lines.append(f"Blocks most: {b.label} — {b.blocks:,} blocked")
    else:
        lines.append("Blocked nothing.")
    return "\n".join(lines)


class OverviewTab(QWidget):
    open_folder = Signal()
    review = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QTextBrowser(self)
        self.text.setAccessibleName("Plugin overview")
        self.text.setOpenLinks(False)
        self.chart_title = QLabel("<b>Activity — last hour</b>", self)
        self.chart = ActivityChart(self)
        self.figures = QLabel(self)
        self.figures.setWordWrap(True)
        self.figures.setAccessibleName("Slowest handler and most frequent blocker")
        self.chart_title.setBuddy(self.chart)
        self.folder_button = QPushButton(icon("folder"), "Open &folder", self)
        self.folder_button.setAccessibleName("Open the plugin's folder")
        self.folder_button.setToolTip("Open the plugin's folder in the file manager (Ctrl+E)")
        self.review_button = QPushButton(icon("review"), "&Review permissions…", self)
        self.review_button.setAccessibleName("Review this plugin's permissions")
        self.folder_button.clicked.connect(self.open_folder)
        self.review_button.clicked.connect(self.review)
        buttons = QHBoxLayout()
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.review_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.chart_title)
        layout.addWidget(self.chart)
        layout.addWidget(self.figures)
        layout.addLayout(buttons)

    def show_activity(self, pa: PluginActivity | None) -> None:
        self.chart.set_activity(pa)
        text = glance_text(pa)
        if text != self.figures.text():
            self.figures.setText(text)

    def show_nothing(self) -> None:
        self.text.setHtml("<h3>No plugin selected</h3><p>Select a plugin in the list to see what it provides, "
                          "what it may touch and what it is doing.</p>")
        self.show_activity(None)

    def show_plugin(self, info: PluginInfo) -> None:
        m = info.manifest
        e = html.escape
        color = theme.STATE_COLORS.get(info.state, "#7a7f87")
        rows: list[tuple[str, str]] = [
            ("State", f"<b style='color:{color}'>{e(theme.state_word(info.state))}</b>"
                      + (f" — {e(info.state_reason)}" if info.state_reason else "")),
        ]
        if info.trust_folder:
            rows.append(("Trust", f"<span style='color:{WARN_COLOR}'>⚠ its project folder {e(info.trust_folder)} "
                                  "is not trusted; nothing of it runs until you trust the folder</span>"))
        rows += [
            ("Id", e(info.id)),
            ("Version", e(info.version or "—")),
            ("Kind", e(theme.kind_word(info.kind))),
            ("Format", e(info.format or "—") + (f" ({e(m.manifest_file)})" if m else "")),
            ("Origin", e(theme.ORIGIN_WORDS.get(info.origin, info.origin))
             + (f" — overridden by the {e(info.overridden_by)} copy" if info.overridden_by else "")),
            ("Folder", e(str(info.path))),
        ]
        if m:
            if m.entry:
                rows.append(("Entry", e(m.entry)))
            rows.append(("Publisher", e(m.author or "not stated")))
            if m.homepage:
                rows.append(("Homepage", e(m.homepage)))
            rows.append(("Activation", e(m.activation)))
        rows.append(("Risk", e(theme.RISK_WORDS.get(info.risk, info.risk))))
        if info.grant is not None:
            when = datetime.fromtimestamp(info.grant.granted_at).strftime("%Y-%m-%d %H:%M")
            rows.append(("Approved", e(when)))
        if info.approval_note:
            rows.append(("Approval", f"<span style='color:{WARN_COLOR}'>⚠ {e(info.approval_note)}</span>"))
        if info.runtime:
            runtime = ", ".join(f"{k.replace('_', ' ')}: {info.runtime[k]}" for k in RUNTIME_FACTS
                                if k in info.runtime and info.runtime[k] not in (None, ""))
            rows.append(("Runtime", e(runtime)))
        if info.problems:
            rows.append(("Problems", f"{len(info.problems)} — see the Problems tab"))
        description = e(m.description) if m and m.description else "<i>No description.</i>"
        table = "".join(f"<tr><td style='padding-right:12px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
        self.text.setHtml(f"<h2>{e(info.name)}</h2><p>{description}</p><table>{table}</table>")
        self.review_button.setEnabled(info.manifest is not None and not info.trust_folder)
