"""A horizontal input level meter in dBFS: green while fine, amber when quiet, red near clipping."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from ui import style

FLOOR_DBFS = -60.0


class LevelMeter(QWidget):
    """Shows the latest level with a slowly falling peak."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level_dbfs = FLOOR_DBFS
        self.setMinimumHeight(18)
        self.setMaximumHeight(22)

    def set_level(self, dbfs: float) -> None:
        """Show a new level; it rises at once and falls gently."""
        dbfs = max(FLOOR_DBFS, min(0.0, dbfs))
        self.level_dbfs = dbfs if dbfs > self.level_dbfs else self.level_dbfs + 0.35 * (dbfs - self.level_dbfs)
        self.update()

    def reset(self) -> None:
        """Back to silence."""
        self.level_dbfs = FLOOR_DBFS
        self.update()

    def colour(self) -> QColor:
        """Colour of the bar for the current level."""
        if self.level_dbfs > -3:
            return QColor(style.BAD)
        if self.level_dbfs < -45:
            return QColor(style.WARN)
        return QColor(style.GOOD)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(style.TRACK))
        p.drawRoundedRect(r, r.height() / 2, r.height() / 2)
        frac = (self.level_dbfs - FLOOR_DBFS) / -FLOOR_DBFS
        if frac > 0.01:
            bar = QRectF(r.x(), r.y(), max(r.height(), r.width() * frac), r.height())
            p.setBrush(self.colour())
            p.drawRoundedRect(bar, r.height() / 2, r.height() / 2)
        p.end()
