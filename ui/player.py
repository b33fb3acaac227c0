"""Plays a stretch of a recording through sounddevice (when there is an output) and moves a cursor in real time."""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QElapsedTimer, QObject, QTimer, Signal

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000


class Player(QObject):
    """``position(seconds)`` while playing, ``stopped()`` at the end; ``note`` says when there is no output."""

    position = Signal(float)
    stopped = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self, interval=40, timeout=self._tick)
        self._clock = QElapsedTimer()
        self._start = self._end = 0.0
        self._stream = None
        self.note: str | None = None

    @property
    def playing(self) -> bool:
        """True while the cursor moves."""
        return self._timer.isActive()

    def play(self, samples: np.ndarray, start: float, end: float) -> None:
        """Play ``samples`` from ``start`` to ``end`` seconds."""
        self.stop()
        self._start, self._end = start, end
        self.note = None
        try:
            import sounddevice as sd

            chunk = samples[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
            sd.play(chunk, SAMPLE_RATE)
            self._stream = sd
        except Exception as exc:  # noqa: BLE001 - no PortAudio or no output device: cursor only
            log.info("no audio output: %s", exc)
            self.note = str(exc)
        self._clock.start()
        self._timer.start()

    def _tick(self) -> None:
        t = self._start + self._clock.elapsed() / 1000
        if t >= self._end:
            self.stop()
            return
        self.position.emit(t)

    def stop(self) -> None:
        """Stop playing."""
        was = self._timer.isActive()
        self._timer.stop()
        if self._stream is not None:
            try:
                self._stream.stop()
            except Exception as exc:  # noqa: BLE001 - already closed or no device
                log.debug("stopping playback: %s", exc)
            self._stream = None
        if was:
            self.stopped.emit()
