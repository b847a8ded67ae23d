"""The request log's writer: rows are buffered and written in batches by a background thread.

Writing one LanceDB commit per request cost about 7 ms on every call, searches included, and left a
fragment per request. Batching every half second (or every 256 rows) takes that off the request path.
Reads of the log (``list_requests``) flush first, so a caller always sees its own requests; a clean
shutdown flushes too. A hard kill loses at most the last half second of log rows, never data.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from typing import Any, Callable

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.5
FLUSH_ROWS = 256
MAX_PENDING_ROWS = 50_000  # if the table is unwritable for long, drop the oldest rather than grow forever


_OPEN_LOGS: "weakref.WeakSet[RequestLog]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """A program that embeds the service and exits without close() still keeps its last log rows.
    The flushing thread is stopped and joined first: a daemon thread killed inside LanceDB's native
    code at interpreter exit aborts the process."""
    for request_log in list(_OPEN_LOGS):
        request_log.close()


class RequestLog:
    """Thread-safe buffered appender; ``write`` does the actual insert of a batch."""

    def __init__(self, write: Callable[[list[dict[str, Any]]], None], *, interval_s: float = FLUSH_INTERVAL_S) -> None:
        self._write = write
        self._interval = interval_s
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards _pending
        self._flush_lock = threading.Lock()  # one batch written at a time, in order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _OPEN_LOGS.add(self)

    def append(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(row)
            if len(self._pending) > MAX_PENDING_ROWS:
                dropped = len(self._pending) - MAX_PENDING_ROWS
                del self._pending[:dropped]
                log.error("request log: %d rows dropped, the requests table has been unwritable", dropped)
            full = len(self._pending) >= FLUSH_ROWS
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="mem-mcp-request-log", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Write everything appended so far (called before reading the log, and at shutdown)."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._write(batch)
            except Exception:  # keep the rows for the next attempt; the log must never fail a request
                log.exception("could not write %d request log rows; will retry", len(batch))
                with self._lock:
                    self._pending[:0] = batch

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
        self.flush()
