"""One background-thread abstraction: a queue drained by one daemon thread, stopped by a sentinel.

The job worker, the request-log flusher, the storage optimizer and the resident-memory loader are each
a ``Worker``: items are ``put`` on its queue and handled one at a time, in order; a worker with
``idle_s`` also calls ``on_idle`` whenever nothing arrived for that long (the flusher's timer). ``stop``
lets the thread finish what is queued (or, with ``drop_queued``, only the item in progress: for work
that is merely an optimisation), then joins it: the thread's owner (the service's ``close``) stops
every worker it started, so none is killed inside native code at interpreter exit. A failing item is
logged and the thread goes on: a worker outlives any one item.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Generic, TypeVar

__all__ = ["Worker"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_STOP = object()


class Worker(Generic[T]):
    """A named daemon thread handling the items put on its queue (``start``, ``put``, ``stop``, ``join``)."""

    def __init__(
        self,
        name: str,
        handle: Callable[[T], None],
        *,
        idle_s: float | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self._handle = handle
        self._idle_s = idle_s
        self._on_idle = on_idle
        self._queue: queue.Queue[object] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def alive(self) -> bool:
        """Whether the thread is running (started and not yet ended)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> bool:
        """Start the thread; False if it was already started (or the worker is stopped)."""
        with self._lock:
            if self._thread is not None or self._stopped:
                return False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            return True

    def put(self, item: T) -> None:
        self._queue.put(item)

    def qsize(self) -> int:
        return self._queue.qsize()

    def join(self) -> None:
        """Block until every item put so far has been handled."""
        self._queue.join()

    def stop(self, timeout: float | None = None, *, drop_queued: bool = False) -> bool:
        """Handle what is queued (``drop_queued``: drop it, finishing only the item in progress), then
        end the thread and join it. Returns whether the thread ended. Idempotent."""
        with self._lock:
            first = not self._stopped
            self._stopped = True
            thread = self._thread
        if thread is None:
            return True
        if first:
            if drop_queued:
                self._drop_queued()
            self._queue.put(_STOP)
        thread.join(timeout)
        return not thread.is_alive()

    def _drop_queued(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
            self._queue.task_done()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self._idle_s)
            except queue.Empty:
                if self._on_idle is not None:
                    self._guard(self._on_idle, "idle")
                continue
            try:
                if item is _STOP:
                    return
                self._guard(lambda: self._handle(item), item)  # type: ignore[arg-type]
            finally:
                self._queue.task_done()

    def _guard(self, fn: Callable[[], None], what: object) -> None:
        try:
            fn()
        except Exception:  # the worker must outlive any one item
            log.exception("%s: %r failed", self.name, what)
