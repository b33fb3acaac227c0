"""One node: the engine (or none yet), the store, auth, limits, metrics and the worker threads."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.config import EngineConfig
from engine.facade import Engine
from engine.models.base import EmbeddingModel
from peer import const
from peer.auth import Authenticator
from peer.batching import BatchingModel
from peer.errors import ModelNotLoadedError, NotReadyError
from peer.lockout import Lockout, LockoutPairs
from peer.meetings import Meetings
from peer.metrics import NodeMetrics
from peer.ports import ClusterView, NodeStore
from peer.ratelimit import RateLimiter, TokenBuckets
from peer.single import SingleNodeCluster

log = logging.getLogger(__name__)
T = TypeVar("T")


def batched_engine(config: EngineConfig, model: EmbeddingModel, store: NodeStore) -> Engine:
    """An engine whose model calls go through a :class:`BatchingModel` (started by the node)."""
    return Engine(config, model=BatchingModel(model), gallery=store)


@dataclass(frozen=True)
class NodeLimits:
    """Per-node limits; ``None`` fields take the defaults in :mod:`peer.const` when the node is built."""

    rate_per_s: float | None = None
    burst: int | None = None
    auth_failures_per_min: int | None = None
    lockout_failures: int | None = None
    lockout_window_s: float | None = None
    lockout_s: float | None = None
    lockout_max_s: float | None = None

    def resolved(self) -> NodeLimits:
        """Every field filled in."""
        return NodeLimits(
            rate_per_s=self.rate_per_s if self.rate_per_s is not None else const.RATE_PER_KEY,
            burst=self.burst if self.burst is not None else const.BURST_PER_KEY,
            auth_failures_per_min=self.auth_failures_per_min or const.AUTH_FAILURES_PER_MIN,
            lockout_failures=self.lockout_failures or const.LOCKOUT_FAILURES,
            lockout_window_s=self.lockout_window_s or const.LOCKOUT_WINDOW_S,
            lockout_s=self.lockout_s or const.LOCKOUT_S,
            lockout_max_s=self.lockout_max_s or const.LOCKOUT_MAX_S,
        )


class _SpeakerLocks:
    """One lock per speaker id while anyone holds it, so writes of one speaker never interleave."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, speaker_id: str) -> Iterator[None]:
        """Hold the speaker's lock for the ``with`` body."""
        with self._guard:
            lock, users = self._locks.get(speaker_id, (threading.Lock(), 0))
            self._locks[speaker_id] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[speaker_id]
                if users == 1:
                    del self._locks[speaker_id]
                else:
                    self._locks[speaker_id] = (lock, users - 1)


class Node:
    """Everything a request handler needs; the HTTP app is built over one of these."""

    def __init__(self, store: NodeStore, engine: Engine | None = None, *, node_id: str | None = None,
                 limits: NodeLimits | None = None, limiter: RateLimiter | None = None,
                 lockout_pairs: LockoutPairs | None = None) -> None:
        """``limiter`` and ``lockout_pairs`` default to this process's memory; a site node passes the site's."""
        self.store = store
        self.node_id = node_id or getattr(store, "node_id", None) or uuid.uuid4().hex[:16]
        self.limits = (limits or NodeLimits()).resolved()
        self.metrics = NodeMetrics()
        self.auth = Authenticator(store, store, failures_per_min=self.limits.auth_failures_per_min)
        self.limiter: RateLimiter = limiter or TokenBuckets(self.limits.rate_per_s or 0.0, self.limits.burst or 1)
        self.lockout = Lockout(store, failures=self.limits.lockout_failures, window_s=self.limits.lockout_window_s,
                               lock_s=self.limits.lockout_s, max_lock_s=self.limits.lockout_max_s,
                               on_lock=lambda _state: self.metrics.lockouts.inc(), pairs=lockout_pairs)
        self.speaker_locks = _SpeakerLocks()
        self.meetings = Meetings()
        self.cluster: ClusterView = SingleNodeCluster(self)
        self._engine: Engine | None = None
        self._base_engine: Engine | None = None  # as set, before the cluster's wrapper
        self._wrap: Callable[[Engine], Engine] | None = None
        self._engine_lock = threading.RLock()
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        if engine is not None:
            self.set_engine(engine)

    # -- engine ------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        """The loaded engine, or 503 ``model_not_loaded``."""
        engine = self._engine
        if engine is None:
            raise ModelNotLoadedError("no embedding model is loaded on this node yet")
        return engine

    def require_model(self) -> None:
        """Raise 503 ``model_not_loaded`` unless a model is loaded (checked before reading a body)."""
        if self._engine is None:
            raise ModelNotLoadedError("no embedding model is loaded on this node yet")

    @property
    def ready(self) -> bool:
        """True when a model is loaded."""
        return self._engine is not None

    @property
    def batcher(self) -> BatchingModel | None:
        """The batching wrapper around the engine's model, when it has one."""
        model = self._engine.model if self._engine is not None else None
        if not isinstance(model, BatchingModel):
            model = getattr(model, "local", None)  # under a wrapper (peer.overflow.OverflowModel)
        return model if isinstance(model, BatchingModel) else None

    def set_engine(self, engine: Engine | None) -> None:
        """Swap the engine (None: unload), through the wrapper if any; the old batcher stops, the new starts."""
        with self._engine_lock:
            old = self.batcher
            self._base_engine = engine
            self._engine = self._wrap(engine) if engine is not None and self._wrap is not None else engine
            new = self.batcher
            if new is not None:
                new.observer = self.metrics.observe_batch
                if self._executor is not None:
                    new.start()
        if old is not None and old is not new:
            old.stop()

    def wrap_engines(self, wrap: Callable[[Engine], Engine] | None) -> None:
        """Pass the loaded engine and every later one through ``wrap`` (the cluster's overflow offloading; None: stop)."""
        with self._engine_lock:
            self._wrap = wrap
            if self._base_engine is not None:
                self.set_engine(self._base_engine)

    def set_threshold(self, threshold: float) -> None:
        """Accept at this cosine threshold from now on (the engine in use and the one under the cluster's wrapper)."""
        from dataclasses import replace

        with self._engine_lock:
            for engine in {id(e): e for e in (self._engine, self._base_engine) if e is not None}.values():
                engine.config = replace(engine.config, threshold=float(threshold))

    @property
    def model_id(self) -> str | None:
        """Id of the loaded model, or None."""
        return self._engine.model_id if self._engine is not None else None

    # -- worker threads ----------------------------------------------------------------------
    def start(self) -> None:
        """Start worker threads and the batcher (idempotent)."""
        with self._lock:
            if self._executor is None:
                self._executor = _started_pool(const.WORKER_THREADS)
        if self.batcher is not None:
            self.batcher.start()

    def stop(self) -> None:
        """Stop the batcher and the worker threads (waits for running work)."""
        if self.batcher is not None:
            self.batcher.stop()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work (decode, model, store) on a worker thread."""
        executor = self._executor
        if executor is None:
            raise NotReadyError("the node is not started")
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # the request id follows the work into the thread
        return await loop.run_in_executor(executor, functools.partial(context.run, fn, *args, **kwargs))

    def queue_depth(self) -> int:
        """Embedding jobs waiting for the model."""
        batcher = self.batcher
        return batcher.depth if batcher is not None else 0

    def audit(self, event: str, actor: str, **fields: Any) -> None:
        """Append to the audit log; a failure is logged, never raised into a response."""
        try:
            self.store.audit(event, actor, **fields)
        except Exception:
            log.exception("could not audit %s", event)


def _started_pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool whose threads all exist now (none appear later, mid-request)."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="vomid-worker")
    barrier = threading.Barrier(workers + 1)
    for _ in range(workers):
        pool.submit(barrier.wait)
    barrier.wait()
    return pool
