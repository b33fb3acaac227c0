"""Streaming speech detection: Silero probabilities in fixed steps, then hysteresis into speech regions.

Audio is processed in fixed steps (``vad_step_s``) with a little left context, so an offline run and a
live run over the same samples give the same frames whatever the size of the chunks fed in.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.labeling.config import FRAME_S, LabelingConfig
from engine.vad import FRAME, SileroVad
from engine.waveform import Waveform


class Hysteresis:
    """Incremental onset/offset thresholding of frame probabilities into padded, merged speech regions."""

    def __init__(self, config: LabelingConfig) -> None:
        """Thresholds and durations (in frames) from the config."""
        self.onset = config.vad_onset
        self.offset = config.vad_offset
        self.min_silence = config.frames(config.min_silence_s)
        self.min_speech = config.frames(config.min_speech_s)
        self.pad = round(config.pad_s / FRAME_S)
        self.regions: list[tuple[int, int]] = []  # final regions in frames, [start, end)
        self._n = 0
        self._start: int | None = None
        self._silence: int | None = None
        self._pending: tuple[int, int] | None = None

    @property
    def final_frames(self) -> int:
        """Frames before this index will not change any more."""
        bounds = [self._n - self.pad]
        if self._start is not None:
            bounds.append(self._start - self.pad)
        if self._pending is not None:
            bounds.append(self._pending[0])
        return max(0, min(bounds))

    def push(self, probs: np.ndarray) -> None:
        """Consume the next frame probabilities."""
        for p in probs.tolist():
            i = self._n
            self._n += 1
            if self._start is None:
                if p >= self.onset:
                    self._start, self._silence = i, None
                continue
            if p >= self.onset:
                self._silence = None
            elif p < self.offset:
                if self._silence is None:
                    self._silence = i
                if i - self._silence + 1 >= self.min_silence:
                    self._close(self._start, self._silence)
        self._flush_pending(limit=self._n)

    def finish(self) -> None:
        """End of input: close the open region and release the pending one."""
        if self._start is not None:
            self._close(self._start, self._n if self._silence is None else self._silence)
        if self._pending is not None:
            self.regions.append(self._pending)
            self._pending = None

    def provisional(self) -> list[tuple[int, int]]:
        """Final regions plus the pending and open ones as they stand now (for live display)."""
        out = list(self.regions)
        if self._pending is not None:
            out.append(self._pending)
        if self._start is not None and self._n - self._start >= self.min_speech:
            out.append((max(0, self._start - self.pad), self._n))
        return out

    def _close(self, start: int, end: int) -> None:
        """End the open region at ``end``; keep it (padded, merged with the pending one) if long enough."""
        self._start, self._silence = None, None
        if end - start < self.min_speech:
            return
        a, b = max(0, start - self.pad), end + self.pad
        if self._pending is not None and a <= self._pending[1]:
            self._pending = (self._pending[0], max(b, self._pending[1]))
        else:
            if self._pending is not None:
                self.regions.append(self._pending)
            self._pending = (a, b)

    def _flush_pending(self, limit: int) -> None:
        """Release the pending region once no later region can reach back to it."""
        if self._pending is None:
            return
        earliest = (self._start if self._start is not None else limit) - self.pad
        if earliest > self._pending[1]:
            self.regions.append(self._pending)
            self._pending = None


class SpeechDetector:
    """Feeds 16 kHz audio through Silero VAD in fixed steps; keeps frame probabilities and speech regions."""

    def __init__(self, vad: SileroVad, config: LabelingConfig, on_step: Callable[[], None] | None = None) -> None:
        """Run ``vad`` with ``config``; ``on_step`` is called after every processed step."""
        self.vad = vad
        self.on_step = on_step
        self.config = config
        self.hysteresis = Hysteresis(config)
        self._step = config.frames(config.vad_step_s) * FRAME
        self._context = config.frames(config.vad_context_s) * FRAME
        self._buffer = np.zeros(0, np.float32)  # context + samples not yet processed
        self._probs: list[np.ndarray] = []
        self.frames_done = 0
        self.closed = False

    @property
    def probabilities(self) -> np.ndarray:
        """Speech probability of every processed frame."""
        if len(self._probs) > 1:
            self._probs = [np.concatenate(self._probs)]
        return self._probs[0] if self._probs else np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray) -> int:
        """Add samples; run every complete step. Returns the number of frames processed so far."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, np.float32)])
        ctx = self._ctx()
        while len(self._buffer) - ctx >= self._step:
            self._run(self._buffer[: ctx + self._step], ctx)
            self._buffer = self._buffer[ctx + self._step - self._ctx() :]
            ctx = self._ctx()
        return self.frames_done

    def finish(self) -> int:
        """Process the samples left (the last frame zero-padded) and close open regions."""
        ctx = self._ctx()
        if len(self._buffer) > ctx:
            self._run(self._buffer, ctx)
        self._buffer = np.zeros(0, np.float32)
        self.hysteresis.finish()
        self.closed = True
        if self.on_step is not None:
            self.on_step()
        return self.frames_done

    def _ctx(self) -> int:
        """Context samples kept before the next step."""
        return min(self._context, self.frames_done * FRAME)

    def _run(self, chunk: np.ndarray, ctx: int) -> None:
        """Probabilities of ``chunk`` after its first ``ctx`` context samples."""
        new = chunk[ctx:]
        probs = self.vad.probabilities(Waveform(chunk))[ctx // FRAME :]
        probs = probs[: -(-len(new) // FRAME)]
        self._probs.append(probs)
        self.frames_done += len(probs)
        self.hysteresis.push(probs)
        if self.on_step is not None:
            self.on_step()
