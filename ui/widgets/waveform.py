"""A live scrolling waveform of the last few seconds (pyqtgraph), drawn as a min/max envelope."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from ui import style


class WaveformView(pg.PlotWidget):
    """Shows the most recent ``seconds`` of audio; ``append`` new blocks, ``clear`` between takes."""

    def __init__(self, seconds: float = 4.0, sample_rate: int = 16_000, bins: int = 500,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent=parent, background=style.SURFACE)
        self._samples = np.zeros(int(seconds * sample_rate), np.float32)
        self._bins = bins
        self._x = np.repeat(np.linspace(-seconds, 0, bins), 2)
        for axis in ("left", "bottom"):
            self.getPlotItem().hideAxis(axis)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setYRange(-0.6, 0.6, padding=0)
        self.setXRange(-seconds, 0, padding=0)
        self.setMinimumHeight(48)
        self._curve = self.plot(self._x, np.zeros_like(self._x), pen=pg.mkPen(style.ACCENT, width=2))
        self.centre = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen(style.BORDER, width=1))
        self.addItem(self.centre)
        self._dirty = False
        self._frame = QTimer(self, interval=40, timeout=self._redraw_if_dirty)  # at most 25 redraws a second
        self._frame.start()

    def append(self, block: np.ndarray) -> None:
        """Scroll in a block of samples."""
        x = np.asarray(block, np.float32)[-len(self._samples):]
        self._samples = np.roll(self._samples, -len(x))
        self._samples[-len(x):] = x
        self._dirty = True

    def _redraw_if_dirty(self) -> None:
        if self._dirty:
            self._redraw()

    def clear_wave(self) -> None:
        """Flat line."""
        self._samples[:] = 0
        self._redraw()

    def set_samples(self, samples: np.ndarray) -> None:
        """Show these samples (the end of them when longer than the view)."""
        self._samples[:] = 0
        if len(samples):
            self.append(samples)
        self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        frames = self._samples.reshape(self._bins, -1)
        env = np.empty(2 * self._bins, np.float32)
        env[0::2] = frames.max(axis=1)
        env[1::2] = frames.min(axis=1)
        peak = max(0.05, float(np.abs(self._samples).max()))
        self._curve.setData(self._x, env * min(1.0 / peak * 0.5, 20.0))
