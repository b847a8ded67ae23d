"""Indexes and maintenance: the indexes each table is created with, their upgrades, compaction, the
ANN index once it pays, and the background thread that does this every so many writes.

Maintenance is about speed, never correctness: rows not yet folded into an index are still found
(by a slower flat scan), and a failed round is logged and tried again later.
"""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from datetime import timedelta
from typing import Any, Callable

from mem_mcp.errors import ConflictError
from mem_mcp.workers import Worker

from .commits import retry
from .schema import SCALAR_INDEXES

__all__ = [
    "ANN_INDEX_MIN_ROWS",
    "OPTIMIZE_EVERY_WRITES",
    "Optimizer",
    "create_btree_indexes",
    "create_memory_indexes",
    "create_vector_index",
    "upgrade_indexes",
]

log = logging.getLogger(__name__)

# Past this many rows (of the whole table: LanceDB's flat scan with a tenant prefilter still reads every
# row's vector) the IVF_HNSW_SQ index is faster than a flat scan: bench/scale.py measured it faster from
# 1,500 rows on (12 vs 18 ms at 3,000; 17 vs 39 ms at 10,000; 20 vs 240 ms at 100,000), with recall@10
# against exact search of 0.99-1.0 once re-ranked (database.ANN_REFINE_FACTOR).
ANN_INDEX_MIN_ROWS = 2_000
# Fold new rows into the indexes after this many writes to a table (unindexed rows are still found,
# by a slower flat scan, so this is about speed, not correctness).
OPTIMIZE_EVERY_WRITES = 100
# How long closing waits for an optimization in progress (one at 100,000 rows takes seconds).
_CLOSE_TIMEOUT_S = 30.0

_OPEN: "weakref.WeakSet[Optimizer]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Stop the optimizer threads before the interpreter goes: a daemon thread killed inside LanceDB's
    native code at exit aborts the process (as in resident.py and requestlog.py)."""
    for optimizer in list(_OPEN):
        optimizer.close()


# -- indexes -------------------------------------------------------------------------------------


def _scalar_index(kind: str) -> Any:
    from lancedb.index import Bitmap, BTree

    return Bitmap() if kind == "bitmap" else BTree()


def create_btree_indexes(table: Any, columns: tuple[str, ...]) -> None:
    """B-tree indexes on ``columns`` (a new messages or profile-values table)."""
    from lancedb.index import BTree

    for col in columns:
        table.create_index(col, config=BTree(), replace=True)


def create_memory_indexes(table: Any) -> None:
    """A new memory table's indexes: the scalar ones of ``SCALAR_INDEXES`` and the full-text index."""

    for col, kind in SCALAR_INDEXES.items():
        table.create_index(col, config=_scalar_index(kind), replace=True)
    create_fts_index(table)


def create_fts_index(table: Any) -> None:
    """The full-text index on ``fts_text``."""
    from lancedb.index import FTS

    # Terms are pre-tokenised by terms.fts_text; "simple" splits them on spaces and stems the
    # English ones.
    table.create_index(
        "fts_text",
        config=FTS(base_tokenizer="simple", lower_case=True, stem=True, remove_stop_words=False),
        replace=True,
    )


def missing_indexes(table: Any) -> bool:
    """Whether a memory table lacks one of its indexes (a process killed while building them)."""
    have = {tuple(i.columns) for i in table.list_indices()}
    return ("fts_text",) not in have or any((col,) not in have for col in SCALAR_INDEXES)


def create_vector_index(table: Any) -> None:
    """The ANN index: IVF partitions, HNSW graphs inside them, 8-bit scalar-quantised vectors."""
    from lancedb.index import HnswSq

    table.create_index("vector", config=HnswSq(distance_type="cosine"), replace=True)


def upgrade_indexes(table: Any) -> None:
    """Bring a memory table's indexes up to date: tables created by an older version lack the indexes
    added since, or have a B-tree where a bitmap now serves better (the old index is dropped, the new
    one built); the ANN index is built once the table has ``ANN_INDEX_MIN_ROWS`` rows."""
    existing = table.list_indices()
    indexed = {tuple(i.columns) for i in existing}
    kinds = {i.columns[0]: (i.name, str(i.index_type).lower()) for i in existing if len(i.columns) == 1}
    for col, kind in SCALAR_INDEXES.items():
        name, have = kinds.get(col, (None, None))
        if have == kind:
            continue
        if name is not None:
            table.drop_index(name)
        table.create_index(col, config=_scalar_index(kind), replace=True)
    if ("fts_text",) not in indexed:
        # A process killed while a new store's indexes were being built leaves it without one.
        log.warning("table %s has no full-text index; building it", table.name)
        create_fts_index(table)
    if ("vector",) not in indexed and table.count_rows() >= ANN_INDEX_MIN_ROWS:
        create_vector_index(table)


# -- optimizing ----------------------------------------------------------------------------------


class Optimizer:
    """Compaction and index upkeep for one database's tables, on demand or in the background.

    ``wrote(table)`` counts a write; every ``OPTIMIZE_EVERY_WRITES``-th queues the table for the
    background thread (started on first use), so the write that crosses the threshold does not wait.
    ``close()`` drops what is queued, waits for the optimization in progress and ends the thread.
    """

    def __init__(
        self,
        retention: timedelta = timedelta(seconds=120),
        interval_s: float = 300.0,
        tables: Callable[[], list[Any]] | None = None,
    ) -> None:
        self._retention = retention
        self._interval_s = interval_s
        self._tables = tables
        self._dirty: set[str] = set()  # tables written since their last optimization
        self._tick: threading.Timer | None = None
        self._lock = threading.Lock()
        self._writes: dict[str, int] = {}
        self._queued: set[str] = set()
        self._table_locks: dict[str, threading.Lock] = {}
        self._worker: Worker[Any] = Worker("mem-mcp-optimize", self._work)
        self._closed = False
        _OPEN.add(self)

    def wrote(self, table: Any) -> None:
        """One more write committed to ``table``."""
        with self._lock:
            count = self._writes.get(table.name, 0) + 1
            self._writes[table.name] = count
            self._dirty.add(table.name)
            if self._tick is None and self._tables is not None and not self._closed:
                self._tick = threading.Timer(self._interval_s, self._periodic)
                self._tick.daemon = True
                self._tick.start()
        if count % OPTIMIZE_EVERY_WRITES == 0:
            self.schedule(table)

    def schedule(self, table: Any) -> None:
        """Run :meth:`optimize` on the background thread (one at a time; a table already queued is
        not queued twice). Does nothing once closed."""
        with self._lock:
            if self._closed or table.name in self._queued:
                return
            self._queued.add(table.name)
            self._worker.start()  # on first use; a no-op afterwards
            self._worker.put(table)

    def _periodic(self) -> None:
        """Every ``interval_s`` after a write: queue the tables written since their last optimization,
        so that old versions are deleted and a quiet table's last writes are compacted too."""
        with self._lock:
            self._tick = None
            dirty, self._dirty = self._dirty, set()
        if self._tables is None:
            return
        for table in self._tables():
            if table.name in dirty:
                self.schedule(table)

    def release_memory(self) -> None:
        """Hand freed heap back to the OS (glibc keeps it otherwise; LanceDB's many short-lived buffers
        leave the heap fragmented). A no-op where there is no glibc."""
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass

    def wait(self) -> None:
        """Block until scheduled optimizations are done (for tests and benchmarks)."""
        self._worker.join()

    def close(self) -> None:
        """Stop the background thread (after the optimization in progress, if any; what is queued is
        dropped). Idempotent."""
        with self._lock:
            self._closed = True
            tick, self._tick = self._tick, None
        if tick is not None:
            tick.cancel()
        self._worker.stop(timeout=_CLOSE_TIMEOUT_S, drop_queued=True)

    def optimize(self, table: Any) -> None:
        """Compact files, fold new rows into the indexes, and build the ANN index once it pays.

        One optimization per table at a time in this process (an import's own call and the background
        thread would otherwise both build the same index and lose commit races to each other)."""
        with self._lock:
            lock = self._table_locks.setdefault(table.name, threading.Lock())
        with lock:
            try:
                if "vector" in table.schema.names:
                    upgrade_indexes(table)
                # Compaction loses a commit race to a concurrent update or delete now that it runs in
                # the background: retry it (the rewritten fragments of the lost attempt are
                # garbage-collected).
                retry(lambda: table.optimize(cleanup_older_than=self._retention))
            except (OSError, RuntimeError, ValueError, ConflictError) as exc:
                # Maintenance must never fail a user's write; the next round tries again.
                log.warning("optimize of %s skipped: %s", table.name, exc)

    def _work(self, table: Any) -> None:
        try:
            with self._lock:
                self._queued.discard(table.name)
                closed = self._closed
                idle = not self._queued
            if not closed:
                self.optimize(table)
                if idle:
                    self.release_memory()
        except Exception:  # the maintenance thread must outlive any one table
            log.exception("background optimize of %s failed", table.name)
