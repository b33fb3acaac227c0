"""Live labeling: feed audio as it arrives, get revised labels every few seconds, the offline result at the end.

The live labeler drives the same streaming front end as the offline pipeline (segmentation windows at
fixed positions, the same chunks and embeddings), so its final result over a file equals the offline
result over that file. Provisional results also segment the latest 10 s and embed the speech not final
yet, then re-cluster everything heard so far; updates are spaced so that their cost stays a fraction of
the audio time.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from engine.labeling.pipeline import Labeler
from engine.labeling.source import blocks_from_path
from engine.labeling.types import LabelResult
from engine.waveform import SAMPLE_RATE

# Share of real time that provisional re-clustering may use; updates are spaced to respect it.
UPDATE_BUDGET = 0.25


class LiveLabeler:
    """Incremental labeling of one stream."""

    def __init__(
        self,
        labeler: Labeler,
        *,
        uri: str = "live",
        update_every_s: float = 2.0,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
        live_max_points: int = 600,
        adaptive: bool = True,
    ) -> None:
        """Start a stream.

        Parameters
        ----------
        labeler:
            The offline labeler whose models, settings and gallery are used.
        uri:
            File id of the results.
        update_every_s:
            Seconds of new audio between provisional results (stretched when updates get expensive).
        num_speakers, min_speakers, max_speakers:
            Speaker-count settings, as for :meth:`Labeler.label`.
        live_max_points:
            Clustering size cap for provisional results (the final result uses the configured one).
        adaptive:
            Stretch the spacing of updates when they get expensive, so that live mode keeps up with
            real time on a slow or busy machine; False keeps exactly ``update_every_s`` (reproducible).
        """
        self.labeler = labeler
        self.uri = uri
        self.update_every_s = update_every_s
        self.config = labeler.with_counts(num_speakers, min_speakers, max_speakers)
        self._provisional_config = dataclasses.replace(
            self.config, max_cluster_points=min(live_max_points, self.config.max_cluster_points))
        self.front = labeler.front_end()
        self._next_update = update_every_s
        self.latest: LabelResult | None = None
        self.update_seconds: list[float] = []
        self.adaptive = adaptive

    @property
    def seconds(self) -> float:
        """Seconds of audio received."""
        return self.front.seconds

    def feed(self, samples: np.ndarray) -> LabelResult | None:
        """Add 16 kHz mono samples.

        Parameters
        ----------
        samples:
            The next chunk of audio (any length).

        Returns
        -------
        LabelResult | None
            A provisional result (``final`` False) when an update was due, else None.
        """
        self.front.feed(samples)
        if self.seconds < self._next_update:
            return None
        return self.update()

    def update(self) -> LabelResult:
        """A provisional result over everything received so far."""
        t0 = time.perf_counter()
        self.latest = self.labeler.result(self.front, self._provisional_config, uri=self.uri, final=False)
        cost = time.perf_counter() - t0
        self.update_seconds.append(cost)
        spacing = max(self.update_every_s, cost / UPDATE_BUDGET) if self.adaptive else self.update_every_s
        self._next_update = self.seconds + spacing
        return self.latest

    def finish(self) -> LabelResult:
        """End of stream: the final result, as the offline pipeline gives for the same audio."""
        self.front.finish()
        self.latest = self.labeler.result(self.front, self.config, uri=self.uri, final=True)
        return self.latest


def file_chunks(path: Path, chunk_s: float = 0.5, *, realtime: bool = False) -> Iterator[np.ndarray]:
    """A file as a live source: chunks of ``chunk_s`` seconds, paced at real time when asked."""
    start = time.perf_counter()
    sent = 0
    for block in blocks_from_path(Path(path), block_s=chunk_s):
        sent += len(block)
        if realtime:
            delay = sent / SAMPLE_RATE - (time.perf_counter() - start)
            if delay > 0:
                time.sleep(delay)
        yield block


def microphone_chunks(chunk_s: float = 0.5, device: int | str | None = None) -> Iterator[np.ndarray]:
    """Chunks from the default (or given) input device at 16 kHz mono, until the caller stops iterating."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as exc:
        from engine.labeling.errors import LabelingError

        raise LabelingError(f"live capture needs sounddevice and PortAudio ({exc}); "
                            "install them or label a file instead") from None
    frames = int(chunk_s * SAMPLE_RATE)
    with sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=frames, device=device) as stream:
        while True:
            data, _ = stream.read(frames)
            yield np.asarray(data[:, 0], np.float32)
