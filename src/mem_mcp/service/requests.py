"""The request log: its buffered writer, and ``list_requests`` over it.

Rows are buffered and written in batches by a background thread (a ``workers.Worker``). Writing one
LanceDB commit per request cost about 7 ms on every call, searches included, and left a fragment per
request. Batching every half second (or every 256 rows) takes that off the request path.
Reads of the log (``list_requests``) flush first, so a caller always sees its own requests; a clean
shutdown flushes too. A hard kill loses at most the last half second of log rows, never data.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from datetime import datetime
from typing import Any, Callable

from ..errors import InvalidArgumentError
from ..filters import sql_string
from ..models import RequestLimit, RequestList, RequestRecord
from ..storage import Database
from ..validation import check_bounded
from ..workers import Worker
from .context import CallContext, Envelope, ScopeArg
from .rows import scope_of, scope_where, ts_literal

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
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # guards _pending
        self._flush_lock = threading.Lock()  # one batch written at a time, in order
        self._worker: Worker[None] = Worker(
            "mem-mcp-request-log", lambda _: self.flush(), idle_s=interval_s, on_idle=self.flush
        )
        _OPEN_LOGS.add(self)

    def append(self, row: dict[str, Any]) -> None:
        row = {k: _loggable(v) for k, v in row.items()}
        with self._lock:
            self._pending.append(row)
            if len(self._pending) > MAX_PENDING_ROWS:
                dropped = len(self._pending) - MAX_PENDING_ROWS
                del self._pending[:dropped]
                log.error("request log: %d rows dropped, the requests table has been unwritable", dropped)
            full = len(self._pending) >= FLUSH_ROWS
        self._worker.start()  # once; never again after close()
        if full:
            self._worker.put(None)

    def flush(self) -> None:
        """Write everything appended so far (called before reading the log, and at shutdown)."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                self._write(batch)
            except Exception:  # the log must never fail a request, nor one row stop the log
                log.exception("could not write %d request log rows; writing them one by one", len(batch))
                kept = []
                for row in batch:
                    try:
                        self._write([row])
                    except Exception:  # noqa: BLE001 - a row the table refuses is dropped, the rest kept
                        kept.append(row)
                if kept:
                    # Unwritable now (the table may be unreachable): kept for the next flush, but
                    # behind newer rows, so that a row that can never be written cannot block them.
                    log.error("request log: %d rows kept for a later flush", len(kept))
                    with self._lock:
                        self._pending.extend(kept)

    def close(self) -> None:
        self._worker.stop(timeout=10)
        self.flush()


class Requests:
    """``list_requests``: the request log, read back."""

    def __init__(self, db: Database, envelope: Envelope) -> None:
        self.db = db
        self.envelope = envelope

    def list_requests(
        self,
        *,
        store: str | None = None,
        scope: ScopeArg = None,
        operation: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        outcome: str | None = None,
        token_id: str | None = None,
        limit: int = 50,
        ctx: CallContext | None = None,
    ) -> RequestList:
        """The request log, newest first, by scope, operation, time, outcome and token.

        ``outcome`` is ``ok``, ``error``, or an error code such as ``PERMISSION_DENIED``. A token
        sees its own app and tenant; an admin may pass ``tenant_id: "*"``.
        """
        self.envelope.request_log.flush()
        with self.envelope.operation("ListRequests", ctx, store, scope, "list") as req:
            assert req.scope is not None
            check_bounded("limit", limit, RequestLimit)
            parts = [scope_where(req.scope)]
            if store is not None:
                parts.append(f"store = {sql_string(store)}")
            if operation:
                parts.append(f"operation = {sql_string(operation)}")
            for name, value in (("since", since), ("until", until)):
                if value is not None and not isinstance(value, datetime):
                    raise InvalidArgumentError(f"{name} must be a date-time, e.g. 2026-11-21T09:00:00Z.", field=name)
            if since is not None:
                parts.append(f"created_at >= {ts_literal(since)}")
            if until is not None:
                parts.append(f"created_at < {ts_literal(until)}")
            if outcome:
                column = "outcome" if outcome in ("ok", "error") else "error_code"
                parts.append(f"{column} = {sql_string(outcome)}")
            if token_id:
                parts.append(f"token_id = {sql_string(token_id)}")
            rows = self.db.rows(self.db.requests(), " AND ".join(parts), None, [("created_at", "descending")], 0, limit)
            return RequestList(
                requests=[
                    RequestRecord(
                        request_id=r["request_id"],
                        operation=r["operation"],
                        store=r["store"],
                        scope=scope_of(r) if r["app_id"] else None,
                        actor=r["actor"],
                        token_id=r.get("token_id"),
                        created_at=r["created_at"],
                        duration_ms=r["duration_ms"],
                        outcome=r["outcome"],
                        error_code=r["error_code"],
                        detail=r["detail"],
                    )
                    for r in rows
                ]
            )


def _loggable(value: Any) -> Any:
    """A value the requests table can store: text UTF-8 cannot carry (a lone surrogate in a refused
    caller's scope or store name) is logged with U+FFFD in its place."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value
