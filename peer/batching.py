"""Micro-batching: concurrent requests' embedding work goes to the model in one call per batch.

:class:`BatchingModel` wraps a loaded :class:`~engine.models.base.EmbeddingModel` and is passed to the
engine in its place. Worker threads that call ``embed_batch`` queue their waveforms and wait; one batcher
thread takes whatever is queued (up to ``max_batch``, waiting at most ``max_wait_s`` for stragglers),
runs the real model once and hands each caller its rows. ``workers`` batcher threads run batches side by
side (with one torch thread each they use one core each). The engine is untouched.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.models.base import EmbeddingModel
from peer import const
from peer.errors import OverloadedError

log = logging.getLogger(__name__)

BatchObserver = Callable[[int, float], None]


@dataclass
class _Job:
    """Waveforms of one caller and the future that receives their embeddings."""

    waveforms: list[np.ndarray]
    windows: bool
    future: Future[np.ndarray] = field(default_factory=Future)


class BatchingModel:
    """An EmbeddingModel that merges concurrent ``embed_batch`` calls into batched model calls."""

    def __init__(
        self,
        model: EmbeddingModel,
        *,
        max_batch: int | None = None,
        max_wait_s: float | None = None,
        queue_limit: int | None = None,
        workers: int | None = None,
        observer: BatchObserver | None = None,
    ) -> None:
        self.inner = model
        self.max_batch = max_batch or const.BATCH_MAX
        self.max_wait_s = const.BATCH_WAIT_S if max_wait_s is None else max_wait_s
        self.queue_limit = queue_limit or const.QUEUE_LIMIT
        self.workers = workers or const.BATCH_WORKERS
        self.observer = observer
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.batches = 0
        self.items = 0

    # -- the EmbeddingModel protocol ---------------------------------------------------------
    @property
    def model_id(self) -> str:
        """Registry id of the wrapped model."""
        return self.inner.model_id

    @property
    def sample_rate(self) -> int:
        """Sample rate of the wrapped model."""
        return self.inner.sample_rate

    @property
    def dim(self) -> int:
        """Embedding size of the wrapped model."""
        return self.inner.dim

    @property
    def min_samples(self) -> int:
        """Shortest input of the wrapped model."""
        return self.inner.min_samples

    def embed_batch(self, waveforms: Sequence[np.ndarray]) -> np.ndarray:
        """Queue the waveforms, wait for the batcher, return ``(len(waveforms), dim)``."""
        return self._submit(list(waveforms), windows=False)

    def embed_windows(self, windows: Sequence[np.ndarray]) -> np.ndarray:
        """Equal-length windows (quality checks) run as one job of their own."""
        return self._submit(list(windows), windows=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Jobs waiting for the model."""
        return self._queue.qsize()

    def start(self) -> None:
        """Start the batcher threads (idempotent)."""
        with self._lock:
            if not self._threads:
                self._threads = [threading.Thread(target=self._run, name=f"vomid-batcher-{i}", daemon=True)
                                 for i in range(self.workers)]
                for thread in self._threads:
                    thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish queued work and stop the batcher threads."""
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)  # after every queued job: each worker takes one and stops
        for thread in threads:
            thread.join(timeout)
        self._drain()  # a job queued while stopping runs here rather than waiting forever

    # -- internals ---------------------------------------------------------------------------
    def _submit(self, waveforms: list[np.ndarray], *, windows: bool) -> np.ndarray:
        if not waveforms:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self._threads:
            return self.inner.embed_batch(waveforms) if not windows else self._run_windows(waveforms)
        if self._queue.qsize() >= self.queue_limit:
            raise OverloadedError(f"{self.queue_limit} requests are already waiting for the model")
        job = _Job(waveforms, windows)
        self._queue.put(job)
        return job.future.result()

    def _run_windows(self, windows: list[np.ndarray]) -> np.ndarray:
        fast = getattr(self.inner, "embed_windows", None)
        return np.asarray(fast(windows) if fast is not None else self.inner.embed_batch(windows))

    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        """The first job plus whatever joins within the wait, up to max_batch waveforms."""
        jobs, size, stop = [first], len(first.waveforms), False
        deadline = time.monotonic() + self.max_wait_s
        while size < self.max_batch:
            try:
                job = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if job is None:
                stop = True
                break
            if job.windows:
                self._execute([job])
                continue
            jobs.append(job)
            size += len(job.waveforms)
        return jobs, stop

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            if first.windows:
                self._execute([first])
                continue
            jobs, stop = self._collect(first)
            self._execute(jobs)
            if stop:
                return

    def _drain(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._execute([job])

    def _execute(self, jobs: list[_Job]) -> None:
        """One model call for all jobs; on failure each job runs alone so one bad input fails only itself."""
        t0 = time.perf_counter()
        waveforms = [w for job in jobs for w in job.waveforms]
        try:
            if len(jobs) == 1 and jobs[0].windows:
                out = self._run_windows(waveforms)
            else:
                out = np.asarray(self.inner.embed_batch(waveforms))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting callers
            if len(jobs) == 1:
                jobs[0].future.set_exception(exc)
                return
            for job in jobs:
                self._execute([job])
            return
        self._record(len(waveforms), time.perf_counter() - t0)
        start = 0
        for job in jobs:
            n = len(job.waveforms)
            job.future.set_result(out[start : start + n])
            start += n

    def _record(self, n: int, seconds: float) -> None:
        self.batches += 1
        self.items += n
        if self.observer is not None:
            try:
                self.observer(n, seconds)
            except Exception:
                log.exception("batch observer failed")
