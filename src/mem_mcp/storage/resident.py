"""Resident memories: an exact in-process vector scan over one tenant's memories.

At 100,000 memories LanceDB's ANN query with a scope prefilter costs 15-21 ms (the prefilter, the
HNSW search, re-reading 5 x k full vectors to re-rank, then the rows); a float32 matrix product over
the tenant's 31,000 rows takes 2-4 ms and is exact. So once a tenant is searched, its memories are
held in memory: the vectors as a matrix, the columns that scope a search (agent, run, status, type)
as integer codes, and every other column as the Arrow table LanceDB returned. A search without a
``filter`` then takes its vector candidates from a scan and its full-text candidates' rows from the
snapshot (the full-text query reads only ``row_key`` and the score): no other LanceDB query.

Correct across processes: each tenant's snapshot carries the table version it was read at, and a
search uses it only while the table is still at that version. This process's own inserts and
upserts (every memory write but the soft delete) are applied to the snapshot as they commit, so the
snapshot follows them; any other commit (another process, a delete, a compaction) leaves the
snapshot behind: the search then takes the LanceDB path and the tenant is re-read on a background
thread (throttled, so a stream of foreign writes cannot keep a core busy re-reading).

Memory: 4 bytes x dimension per row (1.5 KiB for 384 dimensions) plus the other columns and
bookkeeping (~0.6 KiB), within a budget (``Settings.resident_memories_mib``); the least recently searched
tenants are dropped first, and a tenant larger than the whole budget is never loaded (its searches
keep the ANN index). Filtered searches (``filter`` conditions on metadata, tags or times) keep the
LanceDB path too: their prefilter cannot be evaluated here.

This module does not import lancedb: ``database.Database`` hands it a loader.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from mem_mcp.workers import Worker

__all__ = [
    "CODED_COLUMNS",
    "MIN_RELOAD_INTERVAL_S",
    "RELOAD_INTERVAL_FACTOR",
    "Loader",
    "ResidentMemories",
    "RowMatch",
    "row_bytes",
]

log = logging.getLogger(__name__)

#: The columns a snapshot also holds as small integer codes: everything a search without a
#: ``filter`` selects on, once ``app_id`` and ``tenant_id`` pick the snapshot.
CODED_COLUMNS = ("agent_id", "run_id", "status", "type")
# Per row beyond the vector: the other columns in Arrow (texts, metadata, ids, times: ~0.4 KiB on
# scale.py's store), the row_key as a Python string and its slot in the position map, the codes.
_ROW_OVERHEAD_BYTES = 640
# Of that, what a snapshot's Python bookkeeping takes per row (the row_key string, its position-map
# slot); the Arrow columns and the codes are counted from their buffers.
_KEY_BOOKKEEPING_BYTES = 160
# After a tenant was read, wait at least this long, and this many times the read's duration, before
# reading it again: bounds the CPU spent on re-reads when other processes write all the time.
MIN_RELOAD_INTERVAL_S = 0.5
RELOAD_INTERVAL_FACTOR = 4.0


@dataclass(frozen=True)
class RowMatch:
    """The rows a search may return, in terms a snapshot can check: the scope (``None`` for a ``*``
    agent or run), the statuses, and the types (``None``: any)."""

    app_id: str
    tenant_id: str
    agent_id: str | None
    run_id: str | None
    statuses: tuple[str, ...]
    types: tuple[str, ...] | None = None

    def accepts(self, row: Mapping[str, Any]) -> bool:
        return (
            row.get("app_id") == self.app_id
            and row.get("tenant_id") == self.tenant_id
            and (self.agent_id is None or row.get("agent_id") == self.agent_id)
            and (self.run_id is None or row.get("run_id") == self.run_id)
            and row.get("status") in self.statuses
            and (self.types is None or row.get("type") in self.types)
        )


GroupKey = tuple[str, str, str]  # table name, app_id, tenant_id
# (table name, app_id, tenant_id, max bytes) -> (version, the tenant's rows at exactly that version
# with every column, or None where they would take more than max bytes)
Loader = Callable[[str, str, str, int], "tuple[int, pa.Table | None]"]

_OPEN: "weakref.WeakSet[ResidentMemories]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """Stop the loader threads before the interpreter goes: a daemon thread killed inside LanceDB's
    native code at exit aborts the process (as in requestlog.py)."""
    for resident in list(_OPEN):
        resident.close()


def row_bytes(dim: int) -> int:
    """About what one row of a snapshot holds in memory (for the budget check before a read)."""
    return dim * 4 + _ROW_OVERHEAD_BYTES


class _Snapshot:
    """One tenant's rows at one table version: vectors (normalised), coded scope columns, and the
    other columns as read. Own writes land in ``written`` (and grow the arrays by half at a time)."""

    def __init__(self, app_id: str, tenant_id: str, version: int, data: pa.Table) -> None:
        self.app_id, self.tenant_id = app_id, tenant_id
        self.version = version
        n = data.num_rows
        column = data.column("vector")
        self.dim = dim = column.type.list_size
        self.n = n
        self.mat = np.empty((max(n, 16), dim), dtype=np.float32)
        pos = 0
        for chunk in column.chunks:  # straight into the matrix: no combined copy of the column
            k = len(chunk)
            if k:
                values = chunk.flatten().to_numpy(zero_copy_only=False)
                self.mat[pos : pos + k] = values.reshape(k, dim)
                pos += k
        if n:
            _normalise(self.mat[:n])
        self.table = data.drop_columns(["vector"]).combine_chunks()
        self.keys: list[str] = self.table.column("row_key").to_pylist()
        self.position = {key: i for i, key in enumerate(self.keys)}
        self.written: dict[int, dict[str, Any]] = {}  # own writes since the read, by position
        self.vocab: dict[str, dict[str | None, int]] = {}  # value -> code
        self.codes: dict[str, np.ndarray] = {}
        for col in CODED_COLUMNS:
            vocab: dict[str | None, int] = {}
            codes = np.empty(len(self.mat), dtype=np.int32)
            codes[:n] = [vocab.setdefault(v, len(vocab)) for v in self.table.column(col).to_pylist()]
            self.vocab[col] = vocab
            self.codes[col] = codes
        self.last_used = time.monotonic()

    @property
    def nbytes(self) -> int:
        return (
            int(self.mat.nbytes)
            + len(self.mat) * 4 * len(CODED_COLUMNS)
            + int(self.table.nbytes)
            + ((len(self.keys) + len(self.written)) * _KEY_BOOKKEEPING_BYTES)
        )

    def _grow(self, needed: int) -> None:
        if needed <= len(self.mat):
            return
        cap = max(needed, int(len(self.mat) * 1.5) + 16)
        mat = np.empty((cap, self.dim), dtype=np.float32)
        mat[: self.n] = self.mat[: self.n]
        self.mat = mat
        for col, codes in self.codes.items():
            grown = np.empty(cap, dtype=np.int32)
            grown[: self.n] = codes[: self.n]
            self.codes[col] = grown

    def apply(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert or replace (by ``row_key``) rows of this tenant, as written."""
        self._grow(self.n + len(rows))
        for row in rows:
            i = self.position.get(row["row_key"])
            if i is None:
                i = self.n
                self.n += 1
                self.keys.append(row["row_key"])
                self.position[row["row_key"]] = i
            self.mat[i] = _unit(row["vector"])
            for col in CODED_COLUMNS:
                vocab = self.vocab[col]
                self.codes[col][i] = vocab.setdefault(row.get(col), len(vocab))
            self.written[i] = {k: v for k, v in row.items() if k != "vector"}

    def rows_at(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        """The rows at these positions, as LanceDB returns them (without ``vector``)."""
        read = [i for i in positions if i not in self.written]
        got = dict(zip(read, arrow_rows(self.table.take(read)))) if read else {}
        return [dict(self.written[i]) if i in self.written else got[i] for i in positions]

    def top(self, query: np.ndarray, match: RowMatch, k: int) -> list[dict[str, Any]]:
        """The ``k`` rows nearest ``query`` (cosine) among those ``match`` accepts, best first, with
        ``_distance`` and their (normalised, read-only) ``vector``."""
        n = self.n
        if n == 0:
            return []
        mask: np.ndarray | None = None
        for col, wanted in (
            ("agent_id", None if match.agent_id is None else (match.agent_id,)),
            ("run_id", None if match.run_id is None else (match.run_id,)),
            ("status", match.statuses),
            ("type", match.types),
        ):
            if wanted is None:
                continue
            ids = [self.vocab[col][v] for v in wanted if v in self.vocab[col]]
            if not ids:
                return []
            codes = self.codes[col][:n]
            hit = codes == ids[0] if len(ids) == 1 else np.isin(codes, ids)
            mask = hit if mask is None else mask & hit
        if mask is None:
            candidates = np.arange(n)
            scores = _dot(self.mat[:n], query)
        else:
            candidates = np.flatnonzero(mask)
            if not len(candidates):
                return []
            # A selective scope (one run, a rare type): gather its rows rather than score them all.
            if len(candidates) < n // 4:
                scores = _dot(self.mat[candidates], query)
            else:
                scores = _dot(self.mat[:n], query)[candidates]
        if len(candidates) > k:
            part = np.argpartition(-scores, k - 1)[:k]
        else:
            part = np.arange(len(candidates))
        order = part[np.argsort(-scores[part], kind="stable")]
        rows = self.rows_at([int(candidates[i]) for i in order])
        for row, i in zip(rows, order):
            row["_distance"] = 1.0 - float(scores[i])
            row["vector"] = self.mat[int(candidates[i])]  # a view: the ranking compares candidates (retrieval.recency)
        return rows

    def rows(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The rows of those ``keys`` the snapshot holds, each with its (normalised) ``vector``."""
        positions = [i for i in (self.position.get(k) for k in keys) if i is not None]
        out = {}
        for i, row in zip(positions, self.rows_at(positions)):
            row["vector"] = self.mat[i].copy()
            out[row["row_key"]] = row
        return out


def arrow_rows(table: pa.Table) -> list[dict[str, Any]]:
    """``table.to_pylist()``, column by column: the same rows and values, with the UTC timestamps made
    as epoch + microseconds rather than by Arrow's per-value time-zone conversion, which took 2/3 of the
    time (three of them a row; 2.5 -> 1.4 ms for the 100 rows of a search)."""
    names = table.column_names
    if not names:
        return [{} for _ in range(table.num_rows)]
    return [dict(zip(names, values)) for values in zip(*(_values(c) for c in table.columns))]


_UTC = ZoneInfo("UTC")  # what Arrow gives a "UTC" timestamp's values
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _values(column: pa.ChunkedArray) -> list[Any]:
    kind = column.type
    if not (pa.types.is_timestamp(kind) and kind.tz == "UTC" and kind.unit in _MICROS):
        return column.to_pylist()
    if column.null_count == len(column):
        return [None] * len(column)
    scale = _MICROS[kind.unit]
    return [
        None if m is None else _EPOCH + timedelta(microseconds=m * scale) for m in column.cast(pa.int64()).to_pylist()
    ]


def _dot(mat: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``mat @ query``. numpy's own loop, on one core: for a matrix-vector product (memory-bound) it
    measured 2.1-2.4 ms over 31,000 x 384 where OpenBLAS took 2.8-7 ms, its two threads contending
    with the rest of a busy 2-core machine."""
    return np.einsum("ij,j->i", mat, query)


def _return_memory() -> None:
    """Give the allocators' free memory back to the system after a read: reading a tenant allocates
    several times the snapshot transiently (LanceDB's scan, Arrow buffers), which Arrow's pool and
    glibc otherwise keep (measured: +390 MiB resident for a 65 MiB snapshot; +120 MiB after this)."""
    pa.default_memory_pool().release_unused()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim
        pass


def _unit(vector: Any) -> np.ndarray:
    """``vector`` as float32 of length 1 (a zero vector stays zero)."""
    vec = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec


def _normalise(mat: np.ndarray) -> None:
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    mat /= norms


class ResidentMemories:
    """The resident snapshots of one process, by (table, app, tenant), within a memory budget.

    ``latest_version(table_name)`` is the table's latest committed version;
    ``load(table_name, app_id, tenant_id, max_bytes)`` returns ``(version, rows)``: the table's latest
    version and the tenant's rows read at exactly that version (every column), or ``None``
    for the rows where they would take more than ``max_bytes`` (see ``row_bytes``).
    """

    def __init__(self, budget_bytes: int, load: Loader, latest_version: Callable[[str], int]) -> None:
        self.budget_bytes = budget_bytes
        self._load = load
        self._latest_version = latest_version
        self._snapshots: dict[GroupKey, _Snapshot] = {}
        self._lock = threading.Lock()
        self._worker: Worker[GroupKey] = Worker("mem-mcp-resident", self._work)
        self._queued: set[GroupKey] = set()
        self._next_load: dict[GroupKey, float] = {}
        self._too_big: dict[GroupKey, int] = {}
        self._idle = threading.Condition(self._lock)
        self._closed = False
        _OPEN.add(self)

    @property
    def enabled(self) -> bool:
        return self.budget_bytes > 0

    # -- searching ------------------------------------------------------------------------------

    def top(
        self, table_name: str, version: int, query: np.ndarray, match: RowMatch, k: int
    ) -> list[dict[str, Any]] | None:
        """The nearest rows from the tenant's snapshot if it is at ``version`` (the table's latest),
        else ``None`` (the caller searches LanceDB) and the tenant is read in the background."""
        q = _unit(query)
        return self._with_snapshot(table_name, version, match, lambda snap: snap.top(q, match, k))

    def rows(
        self, table_name: str, version: int, match: RowMatch, keys: Sequence[str]
    ) -> dict[str, dict[str, Any]] | None:
        """The rows of ``keys`` (with their normalised ``vector``) from the tenant's snapshot if it is
        at ``version``; keys it does not hold are left out. ``None`` as for ``top``."""
        return self._with_snapshot(table_name, version, match, lambda snap: snap.rows(keys))

    def current(self, table_name: str, version: int, match: RowMatch) -> bool:
        """Whether the tenant's snapshot is at ``version`` (if not, it is read in the background)."""
        return self._with_snapshot(table_name, version, match, lambda snap: True) is not None

    def _with_snapshot(self, table_name: str, version: int, match: RowMatch, fn: Callable[[_Snapshot], Any]) -> Any:
        if not self.enabled:
            return None
        key = (table_name, match.app_id, match.tenant_id)
        with self._lock:
            snap = self._snapshots.get(key)
            if snap is not None and snap.version == version:
                snap.last_used = time.monotonic()
                return fn(snap)
        self._request(key, version)
        return None

    # -- following writes -----------------------------------------------------------------------

    def applied(self, table_name: str, version: int | None, rows: Sequence[Mapping[str, Any]]) -> None:
        """This process committed ``rows`` (inserted, or upserted by ``row_key``) to ``table_name`` as
        ``version``. Snapshots one version behind take them; any other falls behind for good."""
        with self._lock:
            for key in [k for k in self._snapshots if k[0] == table_name]:
                snap = self._snapshots[key]
                if version is None or snap.version != version - 1:
                    del self._snapshots[key]
                    continue
                mine = [r for r in rows if r.get("app_id") == key[1] and r.get("tenant_id") == key[2]]
                if mine:
                    snap.apply(mine)
                snap.version = version
            self._evict_over_budget()

    def invalidate(self, table_name: str) -> None:
        """Forget the table's snapshots (a change they cannot follow, or the table is gone)."""
        with self._lock:
            for key in [k for k in self._snapshots if k[0] == table_name]:
                del self._snapshots[key]

    def resident_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes for s in self._snapshots.values())

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Block until no load is queued or running (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queued and time.monotonic() < deadline:
                self._idle.wait(0.05)

    def load_now(self, table_name: str, app_id: str, tenant_id: str) -> bool:
        """Read a tenant's snapshot on the calling thread (warm-up, tests). True if it is resident."""
        return self._read((table_name, app_id, tenant_id))

    # -- loading --------------------------------------------------------------------------------

    def _request(self, key: GroupKey, version: int) -> None:
        with self._lock:
            if key in self._queued or self._too_big.get(key) == version:
                return  # already asked for, or still too big: the table has not changed since
            if self._closed:
                return
            self._queued.add(key)
            self._worker.start()  # on first use; a no-op afterwards
            self._worker.put(key)

    def close(self) -> None:
        """Stop the loader thread (after the read in progress, if any; queued reads are dropped) and drop
        the snapshots."""
        with self._lock:
            self._closed = True
            self._snapshots.clear()
            self._queued.clear()
            self._idle.notify_all()
        self._worker.stop(timeout=30, drop_queued=True)

    def _work(self, key: GroupKey) -> None:
        if self._closed:
            return
        try:
            # Throttled: a tenant re-read a moment ago waits its turn (see MIN_RELOAD_INTERVAL_S).
            delay = self._next_load.get(key, 0.0) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            with self._lock:
                snap = self._snapshots.get(key)
            if snap is None or snap.version != self._latest_version(key[0]):
                self._read(key)
        except Exception:  # the loader thread must outlive any one failed read
            log.exception("reading resident memories of %s failed", key)
        finally:
            with self._idle:
                self._queued.discard(key)
                self._idle.notify_all()

    def _read(self, key: GroupKey) -> bool:
        started = time.monotonic()
        version, data = self._load(key[0], key[1], key[2], self.budget_bytes)
        # Built outside the lock: searches of other tenants (and this one's LanceDB path) go on.
        snap = _Snapshot(key[1], key[2], version, data) if data is not None else None
        del data
        _return_memory()
        elapsed = time.monotonic() - started
        with self._lock:
            self._next_load[key] = time.monotonic() + max(MIN_RELOAD_INTERVAL_S, RELOAD_INTERVAL_FACTOR * elapsed)
            if snap is None or snap.nbytes > self.budget_bytes:
                self._too_big[key] = version
                self._snapshots.pop(key, None)
                return False
            current = self._snapshots.get(key)
            if current is not None and current.version >= version:
                return True  # own writes carried it further meanwhile
            self._too_big.pop(key, None)
            self._snapshots[key] = snap
            self._evict_over_budget(keep=key)
            log.debug("resident memories of %s: %d rows at version %d (%.0f ms)", key, snap.n, version, elapsed * 1000)
            return key in self._snapshots

    def _evict_over_budget(self, keep: GroupKey | None = None) -> None:
        total = sum(s.nbytes for s in self._snapshots.values())
        for key, snap in sorted(self._snapshots.items(), key=lambda item: item[1].last_used):
            if total <= self.budget_bytes:
                break
            if key == keep:
                continue
            total -= snap.nbytes
            del self._snapshots[key]
