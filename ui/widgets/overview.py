"""The whole recording at a glance (pyqtgraph): its envelope and the playback cursor, aligned under the lanes."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from ui import style


class Overview(pg.PlotWidget):
    """Min/max envelope of a whole file; ``set_cursor`` moves a line to a time in seconds."""

    def __init__(self, left_margin: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=style.SURFACE)
        item = self.getPlotItem()
        item.hideAxis("left")
        item.hideAxis("bottom")
        item.setContentsMargins(left_margin, 4, 12, 4)
        item.getViewBox().setDefaultPadding(0)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setMinimumHeight(64)  # a 480-line panel still shows the meeting room without scrolling
        self.setMaximumHeight(200)
        self._curve = self.plot([], [], pen=pg.mkPen(style.ACCENT, width=1))
        self._cursor = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen(style.BAD, width=2))
        self._cursor.setVisible(False)
        self.addItem(self._cursor)

    def set_samples(self, samples: np.ndarray, sample_rate: int = 16_000, bins: int = 1500) -> None:
        """Show a recording's envelope, normalised to its loudest part."""
        x = np.asarray(samples, np.float32)
        if not len(x):
            self._curve.setData([], [])
            return
        per = max(1, len(x) // bins)
        n = len(x) // per
        frames = x[: n * per].reshape(n, per)
        env = np.empty(2 * n, np.float32)
        env[0::2], env[1::2] = frames.max(axis=1), frames.min(axis=1)
        env /= max(float(np.abs(env).max()), 1e-6)
        t = np.repeat(np.arange(n) * per / sample_rate, 2)
        self._curve.setData(t, env)
        self.setXRange(0, len(x) / sample_rate, padding=0)
        self.setYRange(-1.05, 1.05, padding=0)

    def set_cursor(self, seconds: float | None) -> None:
        """Move (or hide, with None) the cursor."""
        self._cursor.setVisible(seconds is not None)
        if seconds is not None:
            self._cursor.setPos(seconds)
