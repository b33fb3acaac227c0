"""Sliding windows over detected speech, embedded in batches as the audio streams in."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.labeling.config import LabelingConfig
from engine.labeling.speech import SpeechDetector
from engine.models.base import EmbeddingModel
from engine.vad import FRAME, SileroVad
from engine.waveform import SAMPLE_RATE


def normalise_level(x: np.ndarray, target_dbfs: float, max_gain_db: float) -> np.ndarray:
    """Scale speech to an RMS of ``target_dbfs`` (by at most ``max_gain_db`` up; never clipping)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    if rms <= 0.0:
        return x.astype(np.float32)
    gain = min(10 ** ((target_dbfs - 20 * np.log10(rms)) / 20), 10 ** (max_gain_db / 20))
    peak = float(np.max(np.abs(x)))
    gain = min(gain, 1.0 / peak) if peak > 0 else gain
    return (x * np.float32(gain)).astype(np.float32)


class SpeechMask:
    """Per-frame speech flags grown from the detector's final regions."""

    def __init__(self) -> None:
        """An empty mask."""
        self.flags = np.zeros(0, bool)
        self._size = 0
        self._used = 0

    def extend(self, n: int, regions: list[tuple[int, int]]) -> None:
        """Grow to ``n`` frames, marking every new region (regions may reach past ``n``)."""
        if n > len(self.flags):
            grown = np.zeros(max(n, 2 * len(self.flags)), bool)
            grown[: len(self.flags)] = self.flags
            self.flags = grown
        self._size = max(self._size, n)
        for a, b in regions[self._used :]:
            self.flags[a : min(b, len(self.flags))] = True
        self._used = len(regions)

    def view(self, n: int | None = None) -> np.ndarray:
        """The first ``n`` flags (all known ones when None)."""
        return self.flags[: self._size if n is None else n]


class WindowFrontEnd:
    """VAD plus windowing plus embedding for one stream; keeps only the audio of windows still to cut.

    Embeddings are the raw (not normalised) model outputs of the speech inside each window, with the
    window's speech wrap-padded to the full window length so every input has the same duration.
    """

    def __init__(
        self,
        model: EmbeddingModel,
        vad: SileroVad,
        config: LabelingConfig,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        """Embed with ``model`` the windows of speech that ``vad`` finds; ``on_batch(n)`` after each batch."""
        self.model = model
        self.config = config
        self.detector = SpeechDetector(vad, config, on_step=self._cut)
        self.mask = SpeechMask()
        self.win = config.frames(config.window_s)
        self.hop = config.frames(config.hop_s)
        self.on_batch = on_batch
        self._audio = np.zeros(0, np.float32)
        self._audio_start = 0  # frame index of self._audio[0]
        self._next = 0  # start frame of the next window
        self._total_samples = 0
        self._queue: list[tuple[int, np.ndarray]] = []
        self._starts: list[int] = []
        self._vectors: list[np.ndarray] = []
        self.finished = False

    # -- input -------------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono samples."""
        x = np.asarray(samples, np.float32).reshape(-1)
        self._total_samples += len(x)
        self._audio = np.concatenate([self._audio, x])
        self.detector.feed(x)

    def finish(self) -> None:
        """End of input: cut the last windows and embed everything queued."""
        self.detector.finish()
        self.finished = True
        self._embed_queue()

    # -- results -----------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        """Frames of audio seen (processed by the VAD)."""
        return -(-self._total_samples // FRAME) if self.finished else self.detector.frames_done

    @property
    def seconds(self) -> float:
        """Seconds of audio fed so far."""
        return self._total_samples / float(SAMPLE_RATE)

    @property
    def starts(self) -> np.ndarray:
        """Start frame of every embedded window."""
        return np.asarray(self._starts, np.int64)

    @property
    def embeddings(self) -> np.ndarray:
        """``(n_windows, dim)`` float32 raw embeddings."""
        if not self._vectors:
            return np.zeros((0, self.model.dim), np.float32)
        if len(self._vectors) > 1:
            self._vectors = [np.concatenate(self._vectors)]
        return self._vectors[0]

    def speech_regions(self, provisional: bool = False) -> list[tuple[int, int]]:
        """Speech regions in frames, clipped to the audio."""
        h = self.detector.hysteresis
        regions = h.provisional() if provisional else h.regions
        n = self.n_frames
        return [(a, min(b, n)) for a, b in regions if a < n]

    # -- internals ---------------------------------------------------------------------------
    def _cut(self) -> None:
        """Cut every window whose frames are final; called after each VAD step."""
        closed = self.detector.closed
        final = self.detector.frames_done if closed else self.detector.hysteresis.final_frames
        self.mask.extend(final, self.detector.hysteresis.regions)
        flags = self.mask.view(final)
        while self._next + self.win <= final:
            self._take(self._next, flags)
            self._next += self.hop
        if closed:
            self._take_tail(final, flags)
        drop = (self._next - self._audio_start) * FRAME
        if drop > 0:
            self._audio = self._audio[drop:]
            self._audio_start = self._next
        if len(self._queue) >= self.config.batch_windows:
            self._embed_queue()

    def _take_tail(self, final: int, flags: np.ndarray) -> None:
        """At the end, one window flush with the end of the audio when the grid left speech uncovered."""
        start = max(0, final - self.win)
        last = self._starts[-1] if self._starts else (self._queue[-1][0] if self._queue else -self.win)
        if self._queue:
            last = max(last, self._queue[-1][0])
        if start > last and start >= self._audio_start:
            self._take(start, flags)

    def _take(self, start: int, flags: np.ndarray) -> None:
        """Queue the window at ``start`` when enough of it is speech."""
        f = flags[start : start + self.win]
        if len(f) == 0 or f.mean() < self.config.min_window_speech:
            return
        a = (start - self._audio_start) * FRAME
        audio = self._audio[a : a + len(f) * FRAME]
        if len(audio) < len(f) * FRAME:
            audio = np.pad(audio, (0, len(f) * FRAME - len(audio)))
        speech = audio.reshape(len(f), FRAME)[f].reshape(-1)
        if len(speech) == 0:
            return
        x = np.resize(normalise_level(speech, self.config.target_level_dbfs, self.config.max_gain_db),
                      max(self.win * FRAME, self.model.min_samples))
        self._queue.append((start, x))

    def embed_pending(self) -> None:
        """Embed the windows cut so far now, without waiting for a full batch (live updates)."""
        self._embed_queue()

    def _embed_queue(self) -> None:
        """Embed the queued windows in one batch."""
        if not self._queue:
            return
        vectors = self.model.embed_batch([x for _, x in self._queue])
        self._starts.extend(s for s, _ in self._queue)
        self._vectors.append(np.asarray(vectors, np.float32))
        self._queue = []
        if self.on_batch is not None:
            self.on_batch(len(self._starts))
