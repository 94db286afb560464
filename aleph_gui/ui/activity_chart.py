"""The activity chart in Overview and the sparkline column of the plugin table, drawn with QPainter.

Qt Charts is not part of PySide6-Essentials (it ships in PySide6-Addons, a second download several
times the size of Essentials); two small charts do not justify it, and painting them ourselves keeps
a repaint to a few dozen rectangles — cheap enough to stay on while 5,000 calls a second stream in.
The figures come from `core.activity`; these widgets only draw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from aleph_gui.core.activity import PluginActivity

Index = QModelIndex | QPersistentModelIndex

BAR_COLOR = "#3b73c4"
P50_COLOR = "#2e8b57"
P95_COLOR = "#d9891a"


def format_us(us: float | None) -> str:
    if us is None:
        return "—"
    if us < 10:
        return f"{us:.1f} µs"
    if us < 1000:
        return f"{us:.0f} µs"
    if us < 1_000_000:
        return f"{us / 1000:.1f} ms"
    return f"{us / 1_000_000:.2f} s"


def calls_word(n: int) -> str:
    return f"{n:,} call" if n == 1 else f"{n:,} calls"


def describe(pa: PluginActivity | None) -> str:
    """The chart in one sentence (its accessible description, and what tests read)."""
    if pa is None or pa.calls == 0:
        return "No calls in the last hour."
    return (f"{calls_word(pa.calls)} in the last hour, {pa.last_minute:,} in the current minute, busiest minute "
            f"{pa.busiest_minute:,}; p50 {format_us(pa.p50_us)}, p95 {format_us(pa.p95_us)}.")


class ActivityChart(QWidget):
    """Calls per minute (bars, left scale) and p50 / p95 duration (lines, right scale) over an hour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.activity: PluginActivity | None = None
        self.setAccessibleName("Activity over the last hour")
        self.setMinimumHeight(96)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # screen readers reach it; it says itself in one line
        self.setToolTip("Calls per minute (bars) and the p50 / p95 duration of each minute (lines)")
        self.set_activity(None)

    def sizeHint(self) -> QSize:
        return QSize(420, 104)

    def set_activity(self, activity: PluginActivity | None) -> None:
        self.activity = activity
        self.setAccessibleDescription(describe(activity))
        self.update()

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)  # no antialiasing for the frame and the bars: they sit on whole pixels
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        faint = QColor(text)
        faint.setAlpha(60)
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        fm = p.fontMetrics()
        legend_h = fm.height() + 4
        left, right = fm.horizontalAdvance("00000") + 6, fm.horizontalAdvance("000.0 ms") + 8
        plot = QRectF(left, legend_h + 2, max(10, self.width() - left - right), max(10, self.height() - legend_h
                                                                                    - fm.height() - 8))
        p.fillRect(plot, pal.color(QPalette.ColorRole.Base))
        p.setPen(QPen(faint, 1))
        p.drawRect(plot)
        pa = self.activity
        # axis labels under the plot: the hour runs left to right
        p.setPen(text)
        p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignLeft, "60 min ago")
        p.drawText(QRectF(plot.left(), plot.bottom() + 2, plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignRight, "now")
        if pa is None or pa.calls == 0:
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "No calls in the last hour")
            p.end()
            return
        self._legend(p, fm.height(), text)
        p.setPen(text)
        p.drawText(QRectF(0, 2, self.width() - 6, fm.height()), Qt.AlignmentFlag.AlignRight,
                   f"{calls_word(pa.calls)} · now {pa.last_minute:,}/min · p50 {format_us(pa.p50_us)} · "
                   f"p95 {format_us(pa.p95_us)}")
        n = len(pa.per_minute)
        step = plot.width() / max(n, 1)
        top = max(pa.per_minute) or 1
        bars = [QRectF(plot.left() + i * step + 0.5, plot.bottom() - (h := max(1.0, plot.height() * calls / top)),
                       max(1.0, step - 1), h) for i, calls in enumerate(pa.per_minute) if calls]
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(BAR_COLOR))
        p.drawRects(bars)  # one call for the hour
        p.setPen(text)
        p.drawText(QRectF(0, plot.top() - 2, left - 4, fm.height()), Qt.AlignmentFlag.AlignRight, f"{top:,}")
        p.drawText(QRectF(0, plot.bottom() - fm.height() + 2, left - 4, fm.height()), Qt.AlignmentFlag.AlignRight,
                   "0")
        slowest = max((v for v in pa.p95_per_minute if v is not None), default=0.0) or 1.0
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        for series, color in ((pa.p50_per_minute, P50_COLOR), (pa.p95_per_minute, P95_COLOR)):
            self._line(p, plot, step, series, slowest, QColor(color))
        p.setPen(text)
        p.drawText(QRectF(plot.right() + 4, plot.top() - 2, right - 4, fm.height()), Qt.AlignmentFlag.AlignLeft,
                   format_us(slowest))
        p.end()

    def _legend(self, p: QPainter, height: int, text: QColor) -> None:
        x = 6.0
        for label, color in (("calls/min", BAR_COLOR), ("p50", P50_COLOR), ("p95", P95_COLOR)):
            p.fillRect(QRectF(x, 4 + height / 2 - 4, 10, 8), QColor(color))
            x += 14
            p.setPen(text)
            p.drawText(QPointF(x, 2 + height - 3), label)
            x += p.fontMetrics().horizontalAdvance(label) + 14

    @staticmethod
    def _line(p: QPainter, plot: QRectF, step: float, series: Sequence[float | None], top: float,
              color: QColor) -> None:
        """One polyline per run of minutes with calls (a minute without calls breaks the line); a lone
        minute is a dot."""
        runs: list[list[QPointF]] = [[]]
        for i, value in enumerate(series):
            if value is None:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(QPointF(plot.left() + (i + 0.5) * step,
                                    plot.bottom() - plot.height() * min(value / top, 1.0)))
        p.setPen(QPen(color, 1.6))
        p.setBrush(color)
        for run in runs:
            if len(run) > 1:
                p.drawPolyline(run)
            elif run:
                p.drawEllipse(run[0], 1.6, 1.6)


SPARK_ROLE = Qt.ItemDataRole.UserRole + 10  # list[int]: calls per minute, oldest first


class SparklineDelegate(QStyledItemDelegate):
    """Draws a cell's calls-per-minute series as tiny bars, and the cell's text (calls in the last
    minute) right-aligned beside them."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text = opt.text
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        painter.save()
        rect = QRectF(opt.rect).adjusted(3, 4, -3, -4)
        if text:
            width = opt.fontMetrics.horizontalAdvance(text) + 4
            painter.setPen(opt.palette.color(QPalette.ColorRole.HighlightedText if selected
                                             else QPalette.ColorRole.Text))
            painter.drawText(rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), text)
            rect.setRight(rect.right() - width)
        series = index.data(SPARK_ROLE)
        if series and any(series) and rect.width() > 8:
            base = QColor(opt.palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
            base.setAlpha(70)
            painter.setPen(QPen(base, 1))
            painter.drawLine(QPointF(rect.left(), rect.bottom() + 0.5), QPointF(rect.right(), rect.bottom() + 0.5))
            top = max(series)
            step = rect.width() / len(series)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#ffffff") if selected else QColor(BAR_COLOR))
            painter.drawRects([QRectF(rect.left() + i * step, rect.bottom() - (h := max(1.0, rect.height() * calls / top)),
                                      max(1.0, step - 0.4), h) for i, calls in enumerate(series) if calls])
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(120, super().sizeHint(option, index).height())


class GlanceLine(QWidget):
    """One line of text, elided to the width, that repaints when it changes but never asks for a new
    layout (a QLabel would: its text moves every couple of seconds while calls stream in)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self.setFixedHeight(self.fontMetrics().height() + 4)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a screen reader can reach it

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802  (the QLabel name, so it reads like one)
        if text != self._text:
            self._text = text
            self.setToolTip(text)
            self.setAccessibleDescription(text)
            self.update()

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        shown = self.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, self.width() - 4)
        p.drawText(QRectF(2, 0, self.width() - 4, self.height()),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown)
        p.end()
