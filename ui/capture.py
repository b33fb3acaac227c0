"""One take from an audio source: collects samples, tracks speech, stops by itself (GUI thread, never blocks)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from ui.audio_source import AudioSource, AudioSourceError
from ui.endpointer import EndpointConfig, Endpointer

PRE_ROLL = 8000  # samples kept from before the speech onset (0.5 s)


class Capture(QObject):
    """Records one utterance: emits the samples as they arrive, level and speech progress, then the take."""

    samples = Signal(object)  # np.ndarray block, for the waveform
    level = Signal(float)  # dBFS of the latest frame
    progress = Signal(float, float)  # voiced seconds, target seconds
    finished = Signal(object, str)  # the whole take (np.ndarray), why it stopped
    failed = Signal(str)  # the source could not start

    def __init__(self, source: AudioSource, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self.running = False
        self._blocks: list[np.ndarray] = []
        self._endpointer = Endpointer(EndpointConfig())
        source.data_ready.connect(self._drain)
        source.ended.connect(self._ended)

    def start(self, config: EndpointConfig) -> bool:
        """Start a take; False (and ``failed``) when the source cannot start."""
        if self.running:
            return True
        self._blocks = []
        self._endpointer = Endpointer(config)
        try:
            self.source.start()
        except AudioSourceError as exc:
            self.failed.emit(str(exc))
            return False
        self.running = True
        self.progress.emit(0.0, config.target_speech_s)
        return True

    def stop(self, reason: str = "stopped") -> None:
        """End the take now and emit it."""
        if not self.running:
            return
        self.running = False
        self.source.stop()
        tail = self.source.read()
        if len(tail):
            self._blocks.append(tail)
        take = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.float32)
        self.finished.emit(take, reason)

    def cancel(self) -> None:
        """End this capture's take and drop it (the source is shared by the screens: another's take goes on)."""
        if self.running:
            self.source.stop()
        self.running = False
        self._blocks = []

    def _drain(self) -> None:
        if not self.running:
            return
        block = self.source.read()
        if not len(block):
            return
        self._blocks.append(block)
        reason = self._endpointer.feed(block)
        if self._endpointer.waiting:  # hands-free: keep only a short pre-roll before the speech starts
            self._blocks = [np.concatenate(self._blocks)[-PRE_ROLL:]]
        self.samples.emit(block)
        self.level.emit(self._endpointer.level_dbfs)
        self.progress.emit(self._endpointer.voiced_s, self._endpointer.config.target_speech_s)
        if reason is not None:
            self.stop(reason)

    def _ended(self) -> None:
        if self.running:
            self.stop("source_ended")
