"""Work off the GUI thread: QRunnables in a QThreadPool whose results come back as signals."""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a task's progress callback once the task was cancelled."""


class TaskSignals(QObject):
    """Signals of one task, delivered (queued) on the thread that owns this object: the GUI thread."""

    done = Signal(object)
    failed = Signal(object)
    progress = Signal(str, int, int)


class Task(QRunnable):
    """Runs ``fn(*args)`` on a pool thread; ``fn`` may take ``progress=`` to report and be cancelled."""

    def __init__(self, fn: Callable[..., Any], *args: Any, with_progress: bool = False) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self._fn = fn
        self._args = args
        self._with_progress = with_progress
        self._cancel = threading.Event()
        self.finished = threading.Event()

    def cancel(self) -> None:
        """Ask the task to stop at its next progress report."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def _progress(self, step: str, done: int, total: int) -> None:
        if self._cancel.is_set():
            raise Cancelled()
        self.signals.progress.emit(step, int(done), int(total))

    def run(self) -> None:
        """Run on a pool thread; never raises."""
        try:
            kwargs = {"progress": self._progress} if self._with_progress else {}
            result = self._fn(*self._args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI as a value
            if not isinstance(exc, Cancelled):
                log.debug("task failed: %s", traceback.format_exc())
            self.finished.set()
            self.signals.failed.emit(exc)
            return
        self.finished.set()
        self.signals.done.emit(result)


class Workers(QObject):
    """Two pools: one for reads and model work, one single-threaded for writes so they never race."""

    def __init__(self, threads: int = 2, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self.write_pool = QThreadPool(self)
        self.write_pool.setMaxThreadCount(1)
        self._live: set[Task] = set()

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[str, int, int], None] | None = None,
        write: bool = False,
    ) -> Task:
        """Run ``fn(*args)`` in a pool; callbacks run on the GUI thread."""
        task = Task(fn, *args, with_progress=on_progress is not None)
        if on_done is not None:
            task.signals.done.connect(on_done)
        if on_failed is not None:
            task.signals.failed.connect(on_failed)
        if on_progress is not None:
            task.signals.progress.connect(on_progress)
        task.signals.done.connect(lambda _r, t=task: self._live.discard(t))
        task.signals.failed.connect(lambda _e, t=task: self._live.discard(t))
        self._live.add(task)
        (self.write_pool if write else self.pool).start(task)
        return task

    def busy(self) -> bool:
        """True while any task is queued or running."""
        return any(not t.finished.is_set() for t in self._live)

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel what can be cancelled, wait for both pools and stop their threads."""
        for task in list(self._live):
            task.cancel()
        self.pool.clear()
        self.write_pool.clear()
        self.pool.waitForDone(timeout_ms)
        self.write_pool.waitForDone(timeout_ms)
        self.pool.setExpiryTimeout(0)
        self.write_pool.setExpiryTimeout(0)
