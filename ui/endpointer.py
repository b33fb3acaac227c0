"""Live speech tracking for the capture screens: level, voiced seconds and when to stop (plain Python)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FRAME = 320  # 20 ms at 16 kHz


@dataclass(frozen=True)
class EndpointConfig:
    """When a capture is complete."""

    target_speech_s: float = 2.5  # voiced seconds that fill the progress bar
    end_silence_s: float = 0.7  # pause that ends the take once the target is reached
    give_up_silence_s: float = 2.0  # pause that ends a take that has some speech but not the target
    no_speech_s: float = 6.0  # stop when nothing was said for this long
    max_s: float = 15.0  # hard limit
    min_level_dbfs: float = -50.0  # quieter frames are never speech
    margin_db: float = 12.0  # speech is this much above the noise floor
    wait_for_speech: bool = False  # hands-free: nothing counts (and nothing stops) until speech starts


class Endpointer:
    """Energy-based frame classifier with an adaptive noise floor; feed it blocks, read its state."""

    def __init__(self, config: EndpointConfig, sample_rate: int = 16_000) -> None:
        self.config = config
        self.sample_rate = sample_rate
        self._pending = np.zeros(0, np.float32)
        self.frames = 0
        self.voiced_frames = 0
        self.silent_run = 0
        self.floor_dbfs = -70.0
        self.level_dbfs = -120.0
        self.done_reason: str | None = None
        self.onset_frame: int | None = None

    @property
    def frame_s(self) -> float:
        """Seconds per frame."""
        return FRAME / self.sample_rate

    @property
    def voiced_s(self) -> float:
        """Seconds of frames judged as speech so far."""
        return self.voiced_frames * self.frame_s

    @property
    def elapsed_s(self) -> float:
        """Seconds fed so far (since speech started, when waiting for it)."""
        start = (self.onset_frame or 0) if self.config.wait_for_speech else 0
        return (self.frames - start) * self.frame_s

    @property
    def waiting(self) -> bool:
        """True while a hands-free take still waits for the first speech."""
        return self.config.wait_for_speech and self.onset_frame is None

    def feed(self, samples: np.ndarray) -> str | None:
        """Process a block; returns why the take is complete, or None to keep listening."""
        x = np.concatenate([self._pending, np.asarray(samples, np.float32)])
        n = len(x) // FRAME
        self._pending = x[n * FRAME:]
        for frame in x[: n * FRAME].reshape(n, FRAME) if n else []:
            self._frame(frame)
            if self.done_reason is None:
                self.done_reason = self._decide()
        return self.done_reason

    def _frame(self, frame: np.ndarray) -> None:
        rms = float(np.sqrt(np.mean(frame.astype(np.float64) ** 2)))
        level = 20 * np.log10(rms) if rms > 1e-7 else -140.0
        self.level_dbfs = level
        self.frames += 1
        # The floor falls fast and rises slowly, so it follows the pauses and not the voice.
        rate = 0.3 if level < self.floor_dbfs else 0.005
        self.floor_dbfs += rate * (level - self.floor_dbfs)
        voiced = level > max(self.config.min_level_dbfs, self.floor_dbfs + self.config.margin_db)
        if voiced:
            if self.onset_frame is None:
                self.onset_frame = self.frames - 1
            self.voiced_frames += 1
            self.silent_run = 0
        else:
            self.silent_run += 1

    def _decide(self) -> str | None:
        c, pause = self.config, self.silent_run * self.frame_s
        if self.waiting:
            return None
        if self.voiced_s >= c.target_speech_s and pause >= c.end_silence_s:
            return "end_of_speech"
        if self.voiced_s > 0.3 and pause >= c.give_up_silence_s:
            return "end_of_speech"
        if self.voiced_frames == 0 and self.elapsed_s >= c.no_speech_s:
            return "no_speech"
        if self.elapsed_s >= c.max_s:
            return "max_length"
        return None
