"""The meeting timeline: one coloured lane per speaker, segments as bars, a playback cursor."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from app.kiosk import Segment
from ui import style
from ui.messages import speaker_label

LANE_H, LABEL_W, AXIS_H = 52, 230, 28


class Timeline(QWidget):
    """Draws labelled segments; emits ``segment_clicked(index)`` when a bar is clicked."""

    segment_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.segments: list[Segment] = []
        self.lanes: list[str] = []
        self.display: dict[str, str] = {}
        self.duration = 0.0
        self.cursor_s: float | None = None
        self.selected: int | None = None
        self.setMinimumHeight(AXIS_H + LANE_H + 10)
        self.setMouseTracking(True)

    @property
    def lane_count(self) -> int:
        """Number of speaker lanes shown."""
        return len(self.lanes)

    def set_segments(self, segments: Sequence[Segment], duration: float) -> None:
        """Show these segments over a file of ``duration`` seconds."""
        self.segments = list(segments)
        self.lanes = list(dict.fromkeys(s.label for s in self.segments))
        self.display = {s.label: s.name or speaker_label(s.label) for s in self.segments}
        self.duration = max(duration, max((s.end for s in self.segments), default=0.0), 1e-3)
        self.selected = None
        self.setMinimumHeight(AXIS_H + LANE_H * max(1, len(self.lanes)) + 10)
        self.update()

    def rename(self, label: str, name: str) -> None:
        """Show ``name`` for every segment of ``label``."""
        self.display[label] = name
        self.update()

    def set_cursor(self, seconds: float | None) -> None:
        """Move the playback cursor (None hides it)."""
        self.cursor_s = seconds
        self.update()

    def _x(self, t: float) -> float:
        return LABEL_W + (self.width() - LABEL_W - 12) * t / self.duration

    def _bar(self, i: int) -> QRectF:
        s = self.segments[i]
        lane = self.lanes.index(s.label)
        x0, x1 = self._x(s.start), self._x(s.end)
        return QRectF(x0, AXIS_H + lane * LANE_H + 8, max(2.0, x1 - x0), LANE_H - 16)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        for i in range(len(self.segments)):
            if self._bar(i).adjusted(-2, -2, 2, 2).contains(event.position()):
                self.selected = i
                self.update()
                self.segment_clicked.emit(i)
                return

    def lane_caption(self, label: str, talk_s: float, metrics: QFontMetrics) -> str:
        """A lane's name and speaking time; a long name is elided so the time always shows."""
        time = "  ·  " + self.tr("%1 s").replace("%1", f"{talk_s:.0f}")
        room = LABEL_W - 36 - metrics.horizontalAdvance(time) - 2
        name = metrics.elidedText(self.display.get(label, label), Qt.TextElideMode.ElideRight, max(room, 10))
        return name + time

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(style.SURFACE))
        if not self.segments:
            p.setPen(QColor(style.MUTED))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("No meeting labelled yet"))
            p.end()
            return
        self._axis(p)
        for lane, label in enumerate(self.lanes):
            y = AXIS_H + lane * LANE_H
            if lane % 2:
                p.fillRect(QRectF(0, y, self.width(), LANE_H), QColor("#f8fafc"))
            colour = QColor(style.LANES[lane % len(style.LANES)])
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawEllipse(QPointF(18, y + LANE_H / 2), 7, 7)
            p.setPen(QColor(style.TEXT))
            p.setFont(QFont(p.font().family(), 12))
            talk = sum(s.end - s.start for s in self.segments if s.label == label)
            p.drawText(QRectF(32, y, LABEL_W - 36, LANE_H), Qt.AlignmentFlag.AlignVCenter,
                       self.lane_caption(label, talk, p.fontMetrics()))
        for i, s in enumerate(self.segments):
            colour = QColor(style.LANES[self.lanes.index(s.label) % len(style.LANES)])
            p.setPen(QPen(QColor(style.TEXT), 2) if i == self.selected else Qt.PenStyle.NoPen)
            p.setBrush(colour)
            p.drawRoundedRect(self._bar(i), 5, 5)
        if self.cursor_s is not None:
            p.setPen(QPen(QColor(style.BAD), 2))
            x = self._x(self.cursor_s)
            p.drawLine(QPointF(x, AXIS_H - 4), QPointF(x, self.height()))
        p.end()

    def _axis(self, p: QPainter) -> None:
        p.setPen(QColor(style.MUTED))
        p.setFont(QFont(p.font().family(), 10))
        step = next(s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1e9) if self.duration / s <= 12)
        t = 0.0
        while t <= self.duration + 1e-6:
            x = self._x(t)
            if x + 34 > self.width():
                break
            p.drawLine(QPointF(x, AXIS_H - 6), QPointF(x, AXIS_H - 1))
            m, s = divmod(int(t), 60)
            p.drawText(QPointF(x + 3, AXIS_H - 9), f"{m}:{s:02d}")
            t += step
