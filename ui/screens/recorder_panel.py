"""The shared recording panel: prompt phrase, big Speak button, live waveform, level and speech progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from ui.audio_source import AudioSource
from ui.capture import Capture
from ui.endpointer import EndpointConfig
from ui.messages import random_prompt
from ui.widgets.buttons import EnterButton
from ui.widgets.level_meter import LevelMeter
from ui.widgets.waveform import WaveformView


class PromptLabel(QLabel):
    """The phrase to read: always two lines high, so the Speak button below never moves with its length."""

    LINES = 2

    def _height(self) -> int:
        m = self.contentsMargins()
        return self.fontMetrics().lineSpacing() * self.LINES + m.top() + m.bottom() + 4

    def hasHeightForWidth(self) -> bool:
        return False

    def sizeHint(self) -> QSize:
        return QSize(super().sizeHint().width(), self._height())

    def minimumSizeHint(self) -> QSize:
        return QSize(super().minimumSizeHint().width(), self._height())


class RecorderPanel(QWidget):
    """Records one take when Speak is pressed; emits ``started`` when a take begins (the screen clears the last
    result then), ``take`` with the samples and the stop reason. ``may_start`` can refuse a take before it records."""

    take = Signal(object, str)
    failed = Signal(str)
    started = Signal()

    def __init__(self, source: AudioSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capture = Capture(source, self)
        self.config = EndpointConfig()
        self.may_start: Callable[[], bool] = lambda: True
        self.prompt_caption = QLabel(self.tr("Please read aloud:"))
        self.prompt_caption.setObjectName("hint")
        self.prompt = PromptLabel(random_prompt())
        self.prompt.setObjectName("prompt")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setWordWrap(True)
        self.speak = EnterButton(self.tr("Speak"))
        self.speak.setObjectName("primary")
        self.speak.setCursor(Qt.CursorShape.PointingHandCursor)
        self.speak.clicked.connect(self.toggle)
        self.waveform = WaveformView()
        self.meter = LevelMeter()
        self.speech = QProgressBar()
        self.speech.setRange(0, 100)
        self.speech.setFormat(self.tr("speech %p%"))
        self._build()
        self.capture.samples.connect(self.waveform.append)
        self.capture.level.connect(self.meter.set_level)
        self.capture.progress.connect(self._progress)
        self.capture.finished.connect(self._finished)
        self.capture.failed.connect(self.failed)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setSpacing(14)
        lay.addWidget(self.prompt_caption)
        lay.addWidget(self.prompt)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.speak)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.waveform, 1)
        levels = QHBoxLayout()
        levels.addWidget(QLabel(self.tr("Level")))
        levels.addWidget(self.meter, 1)
        levels.addSpacing(20)
        levels.addWidget(QLabel(self.tr("Speech")))
        levels.addWidget(self.speech, 2)
        lay.addLayout(levels)

    @property
    def recording(self) -> bool:
        """True while a take is being recorded."""
        return self.capture.running

    def new_prompt(self) -> None:
        """Show a fresh phrase to read."""
        self.prompt.setText(random_prompt())

    def show_prompt(self, shown: bool) -> None:
        """Show or hide the phrase and its "Please read aloud" caption (hidden once nothing is left to read)."""
        self.prompt_caption.setVisible(shown)
        self.prompt.setVisible(shown)

    def toggle(self) -> None:
        """Start a take, or end the running one."""
        if self.capture.running:
            self.capture.stop("stopped")
            return
        if not self.may_start():
            return
        self.waveform.clear_wave()
        self.meter.reset()
        self.speech.setValue(0)
        if self.capture.start(self.config):
            self.speak.setText(self.tr("Listening… tap to stop"))
            self.started.emit()

    def arm(self) -> bool:
        """Hands-free: listen, and start the take by itself when speech begins."""
        if self.capture.running:
            return True
        self.waveform.clear_wave()
        self.speech.setValue(0)
        if self.capture.start(replace(self.config, wait_for_speech=True)):
            self.speak.setText(self.tr("Listening… tap to stop"))
            self.started.emit()
            return True
        return False

    def cancel(self) -> None:
        """Drop a running take."""
        self.capture.cancel()
        self.speak.setText(self.tr("Speak"))

    def _progress(self, voiced: float, target: float) -> None:
        self.speech.setValue(int(100 * min(1.0, voiced / max(target, 1e-6))))

    def _finished(self, samples: np.ndarray, reason: str) -> None:
        self.speak.setText(self.tr("Speak"))
        self.meter.reset()
        self.take.emit(samples, reason)
