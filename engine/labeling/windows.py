"""The streaming front end: segmentation windows (speech, local speakers, overlap) and embedded speech chunks.

Windows of the segmentation model's length (10 s) start every ``step`` frames of its output grid; each
gives up to three local speakers per frame, at most two at once. Averaged over the windows that cover a
frame and rounded (halves up: a frame that half of its windows hear as speech is speech), their number
of active speakers is how many people speak in that frame. Once no later
window can cover a frame, its count is final, and the speech (count >= 1) is cut into chunks of
``chunk_s`` every ``chunk_hop_s`` (the last one of a stretch cut short at its end) that are embedded one
by one. Offline and live runs over the same samples cut identical windows and chunks whatever the size of
the blocks fed in; only the audio still to be cut is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from engine.labeling.config import LabelingConfig
from engine.models.base import EmbeddingModel
from engine.waveform import SAMPLE_RATE


class Segmenter(Protocol):
    """What the front end needs of a segmentation model (see ``segmentation_model.SegmentationModel``)."""

    @property
    def window_samples(self) -> int:
        """Window length in samples."""
        ...

    @property
    def frame_step_s(self) -> float:
        """Time between output frames."""
        ...

    @property
    def frame_duration_s(self) -> float:
        """Receptive field of one output frame."""
        ...

    def log_probs(self, windows: np.ndarray) -> np.ndarray:
        """(batch, frames, classes) powerset log-probabilities of (batch, 1, samples) windows."""
        ...

    def to_multilabel(self, log_probs: np.ndarray, *, soft: bool = False) -> np.ndarray:
        """(batch, frames, speakers) activities."""
        ...


@dataclass(frozen=True)
class FrameGrid:
    """The segmentation model's output grid: frame ``i`` covers ``[i * step, i * step + duration)`` samples."""

    step: int  # samples
    duration: int  # samples

    @property
    def offset(self) -> int:
        """Samples from a frame's start to the ``step`` samples it owns (its centre)."""
        return (self.duration - self.step) // 2

    def time(self, frame: float) -> float:
        """Time (s) of a frame boundary: the middle of frame ``frame`` (pyannote's convention)."""
        return (frame * self.step + self.duration / 2) / SAMPLE_RATE

    def frames_in(self, samples: int) -> int:
        """Frames whose middle lies inside ``samples`` samples of audio."""
        return max(0, -(-(samples - self.duration // 2) // self.step))

    def frames(self, seconds: float) -> int:
        """Whole frames in ``seconds`` (at least one)."""
        return max(1, round(seconds * SAMPLE_RATE / self.step))


@dataclass(frozen=True)
class Window:
    """One segmentation window: its first frame on the recording's grid and its local speakers' activity."""

    start: int
    activity: np.ndarray  # (frames, local speakers) bool


class Growing:
    """A 1-D float32 array that grows by doubling (per-frame sums of a stream)."""

    def __init__(self) -> None:
        """Empty."""
        self.data = np.zeros(1024, np.float32)

    def add(self, start: int, values: np.ndarray) -> None:
        """Add ``values`` at ``start``."""
        end = start + len(values)
        if end > len(self.data):
            grown = np.zeros(max(end, 2 * len(self.data)), np.float32)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[start:end] += values

    def view(self, n: int) -> np.ndarray:
        """The first ``n`` values."""
        if n > len(self.data):
            self.add(n - 1, np.zeros(1, np.float32))
        return self.data[:n]


def count_from(total: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """Speakers per frame: the mean number of active local speakers over the covering windows, halves rounded up.

    pyannote rounds halves to even (``np.rint``), so speech that one of two windows hears is dropped; on
    meetings built from other voices (``synthetic.py``) segmentation-3.0 often hears a quiet or phone-quality
    voice in one window and not the next, and whole turns went missing. Halves up keeps them.
    """
    return np.floor(total / np.maximum(cover, 1.0) + 0.5).astype(np.int64)


def chunk_bounds(start: int, end: int | None, cursor: int, length: int, hop: int, shortest: int,
                 known: int) -> tuple[list[tuple[int, int]], int]:
    """Chunks of the speech stretch ``[start, end)`` from ``cursor`` on (``end`` None: still open at ``known``).

    Chunks are ``length`` frames every ``hop`` frames; in a closed stretch the last one ends with it and
    is kept when it has at least ``shortest`` frames. Returns the chunks and the next chunk start.
    """
    out: list[tuple[int, int]] = []
    a = max(cursor, start)
    if end is None:
        while a + length <= known:
            out.append((a, a + length))
            a += hop
        return out, a
    while a + length < end + hop:
        b = min(a + length, end)
        if b - a >= shortest:
            out.append((a, b))
        a += hop
    return out, a


class WindowFrontEnd:
    """Segmentation windows and speech chunk embeddings of one stream.

    Parameters
    ----------
    segmentation:
        The segmentation model (10 s windows, powerset output).
    model:
        The embedding model; ``None`` cuts the chunks but embeds none of them (speech and count only, as
        ``eval-labels --floor`` needs).
    config:
        Window step, chunk length, hop and shortest chunk.
    on_window:
        Called with the number of windows done after each one (progress, cancellation).
    """

    def __init__(self, segmentation: Segmenter, model: EmbeddingModel | None, config: LabelingConfig,
                 on_window: Callable[[int], None] | None = None) -> None:
        self.segmentation = segmentation
        self.model = model
        self.config = config
        self.grid = FrameGrid(round(segmentation.frame_step_s * SAMPLE_RATE),
                              round(segmentation.frame_duration_s * SAMPLE_RATE))
        self.window = segmentation.window_samples
        self.step = self.grid.frames(config.step_s)
        self.chunk = self.grid.frames(config.chunk_s)
        self.hop = self.grid.frames(config.chunk_hop_s)
        self.shortest = max(self.grid.frames(config.min_chunk_s), -(-self._min_samples // self.grid.step))
        self.on_window = on_window
        self.windows: list[Window] = []
        self.chunks: list[tuple[int, int]] = []  # embedded chunks, in frames
        self._vectors: list[np.ndarray] = []
        self._queue: list[tuple[int, int]] = []
        self._total_active = Growing()
        self._cover = Growing()
        self._audio = np.zeros(0, np.float32)
        self._audio_start = 0  # sample index of self._audio[0]
        self._total = 0
        self._next = 0  # start frame of the next regular window: frames before it are final
        self._scanned = 0  # final frames already cut into chunks
        self._open: int | None = None  # start frame of the speech stretch still open at _scanned
        self._cursor = 0  # next chunk start in the open stretch
        self.finished = False

    # -- input -------------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> None:
        """Add 16 kHz mono samples: segment every window they complete, embed every chunk that became final."""
        x = np.asarray(samples, np.float32).reshape(-1)
        self._total += len(x)
        self._audio = np.concatenate([self._audio, x])
        while self._next * self.grid.step + self.window <= self._total:
            self._add(self._window_at(self._next))
            self._next += self.step
            self._cut(self._next, closed=False)
        self._trim()

    def finish(self) -> None:
        """End of input: a last window flush with the end of the audio if needed, then the last chunks."""
        if self.finished:
            return
        tail = self.tail()
        if tail is not None:
            self._add(tail)
        self._cut(self.n_frames, closed=True)
        self._embed_queue()
        self.finished = True
        self._audio = np.zeros(0, np.float32)

    # -- results -----------------------------------------------------------------------------
    @property
    def seconds(self) -> float:
        """Seconds of audio fed so far."""
        return self._total / float(SAMPLE_RATE)

    @property
    def n_frames(self) -> int:
        """Frames of the grid inside the audio fed so far."""
        return self.grid.frames_in(self._total)

    @property
    def embeddings(self) -> np.ndarray:
        """``(chunks, dim)`` raw embeddings of the embedded chunks (``(0, 0)`` without an embedding model)."""
        self._embed_queue()
        if not self._vectors:
            return np.zeros((0, self._dim), np.float32)
        if len(self._vectors) > 1:
            self._vectors = [np.concatenate(self._vectors)]
        return self._vectors[0]

    def count(self, extra: Window | None = None) -> np.ndarray:
        """Speakers per frame over the audio so far (with a provisional ``extra`` window)."""
        n = self.n_frames
        total, cover = self._total_active.view(n).copy(), self._cover.view(n).copy()
        if extra is not None:
            f = min(len(extra.activity), max(0, n - extra.start))
            total[extra.start : extra.start + f] += extra.activity[:f].sum(axis=1)
            cover[extra.start : extra.start + f] += 1
        return count_from(total, cover)

    def tail(self) -> Window | None:
        """The window ending at the end of the audio so far, when the regular windows do not reach it."""
        covered = self.windows[-1].start * self.grid.step + self.window if self.windows else 0
        if self._total == 0 or covered >= self._total or self.finished:
            return None
        return self._window_at(max(0, -(-(self._total - self.window) // self.grid.step)))

    def provisional_chunks(self, count: np.ndarray) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Chunks of the speech after the final frames, as ``count`` stands now, and their embeddings (live)."""
        speech = count > 0
        bounds: list[tuple[int, int]] = []
        runs = _runs(speech[self._scanned :], self._scanned)
        if self._open is not None and (not runs or runs[0][0] > self._scanned):
            runs.insert(0, (self._scanned, self._scanned))  # the open stretch ends where the final frames do
        for a, b in runs:
            cursor = a
            if self._open is not None and a == self._scanned:
                a, cursor = self._open, self._cursor
            got, _ = chunk_bounds(a, b, cursor, self.chunk, self.hop, self.shortest, len(speech))
            bounds.extend(got)
        if self.model is None or not bounds:
            return bounds, np.zeros((len(bounds), self._dim), np.float32)
        return bounds, np.asarray(self.model.embed_batch([self._samples(a, b) for a, b in bounds]), np.float32)

    # -- internals ---------------------------------------------------------------------------
    @property
    def _dim(self) -> int:
        return self.model.dim if self.model is not None else 0

    @property
    def _min_samples(self) -> int:
        return self.model.min_samples if self.model is not None else 0

    def _add(self, window: Window) -> None:
        self.windows.append(window)
        self._total_active.add(window.start, window.activity.sum(axis=1).astype(np.float32))
        self._cover.add(window.start, np.ones(len(window.activity), np.float32))
        if self.on_window is not None:
            self.on_window(len(self.windows))

    def _window_at(self, start: int) -> Window:
        """Segment the window starting at frame ``start`` (zero-padded past the end of the audio)."""
        a = start * self.grid.step - self._audio_start
        audio = self._audio[a : a + self.window]
        real = len(audio)
        if real < self.window:
            audio = np.pad(audio, (0, self.window - real))
        activity = self.segmentation.to_multilabel(self.segmentation.log_probs(audio[None, None, :]))[0] > 0.5
        activity[self.grid.frames_in(real) :] = False  # nobody speaks past the end of the audio
        return Window(start, activity)

    def _cut(self, final: int, closed: bool) -> None:
        """Cut the speech of frames ``[_scanned, final)`` into chunks; ``closed``: the audio ends at ``final``."""
        final = min(final, self.n_frames) if closed else final
        if final <= self._scanned:
            return
        total, cover = self._total_active.view(final), self._cover.view(final)
        speech = count_from(total[self._scanned : final], cover[self._scanned : final]) > 0
        if self._open is not None and not speech[0]:  # the open stretch ended where the last scan did
            got, _ = chunk_bounds(self._open, self._scanned, self._cursor, self.chunk, self.hop, self.shortest,
                                  self._scanned)
            self._queue.extend(got)
            self._open = None
        for a, b in _runs(speech, self._scanned):
            if self._open is not None and a == self._scanned:
                a = self._open
            else:
                self._cursor = a
            ends = b < final or closed
            got, self._cursor = chunk_bounds(a, b if ends else None, self._cursor, self.chunk, self.hop,
                                             self.shortest, final)
            self._queue.extend(got)
            self._open = None if ends else a
        self._scanned = final
        if len(self._queue) >= self.config.batch_chunks:
            self._embed_queue()

    def _samples(self, a: int, b: int) -> np.ndarray:
        """The samples frames ``[a, b)`` own."""
        lo = a * self.grid.step + self.grid.offset - self._audio_start
        return self._audio[max(0, lo) : b * self.grid.step + self.grid.offset - self._audio_start]

    def _embed_queue(self) -> None:
        """Embed the queued chunks in one batch."""
        if not self._queue:
            return
        if self.model is not None:
            vectors = self.model.embed_batch([self._samples(a, b) for a, b in self._queue])
            self._vectors.append(np.asarray(vectors, np.float32))
        self.chunks.extend(self._queue)
        self._queue = []

    def _trim(self) -> None:
        """Drop the audio no window, chunk or provisional result will read again."""
        keep = [self._next * self.grid.step, max(0, self._total - self.window)]
        pending = [a for a, _ in self._queue] + ([self._cursor] if self._open is not None else [])
        if pending:
            keep.append(max(0, min(pending) * self.grid.step + self.grid.offset))
        keep.append(max(0, self._scanned * self.grid.step + self.grid.offset - self.grid.step))
        keep_from = min(keep)
        if keep_from > self._audio_start:
            self._audio = self._audio[keep_from - self._audio_start :]
            self._audio_start = keep_from


def _runs(flags: np.ndarray, offset: int = 0) -> list[tuple[int, int]]:
    """Maximal runs ``(start, end)`` of True values, shifted by ``offset``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return [(int(a) + offset, int(b) + offset) for a, b in zip(edges[::2], edges[1::2], strict=True)]
