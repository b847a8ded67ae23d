"""LanceDB storage: the only module that imports ``lancedb``.

Tables:
- ``stores``: one row per memory store (settings, pinned embedding model, the memory table it uses).
- ``mem_<hash>_<n>``: one table per store (its vector dimension is the store's), one row per memory
  *version* keyed by ``row_key`` = ``<id>:<version>``. The newest version of a memory is ``active``
  or ``deleted``; older versions are ``superseded``. An update writes the new version and retires the
  old one in a single ``merge_insert`` commit, so a reader never sees two current versions.
- ``messages``: short-term messages of every store and run.
- ``requests``: the request log.
- ``profile_schemas``: one row per profile schema of an app, its attributes as a JSON list.
- ``profile_values``: one row per *version* of a user's profile attribute (per schema, app and tenant):
  the ``current`` version and the ``superseded`` ones before it, each with the messages it came from.

Connections use ``read_consistency_interval=0`` so each read sees the latest commit of any other
process (a CLI beside a running server, several HTTP workers); writes that lose an optimistic
commit race are retried.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from datetime import timedelta
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np
import pyarrow as pa

from .errors import ConflictError
from .filters import sql_string
from .resident import ResidentMemories, RowMatch, row_bytes

log = logging.getLogger(__name__)

T = TypeVar("T")

TS = pa.timestamp("us", tz="UTC")

STORES_SCHEMA = pa.schema(
    [
        pa.field("name", pa.string(), nullable=False),
        pa.field("description", pa.string()),
        pa.field("extraction_strategies", pa.string()),  # JSON list
        pa.field("custom_strategies", pa.string()),  # JSON list
        pa.field("short_term_ttl", pa.int32()),
        pa.field("embedding_model", pa.string()),
        pa.field("embedding_dim", pa.int32()),
        pa.field("table_name", pa.string()),
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
    ]
)

MESSAGES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("store", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("tenant_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("role", pa.string()),
        pa.field("content", pa.string()),
        pa.field("seq", pa.int64()),
        pa.field("created_at", TS),
        pa.field("request_id", pa.string()),
    ]
)

REQUESTS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("operation", pa.string()),
        pa.field("store", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("tenant_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("actor", pa.string()),
        pa.field("token_id", pa.string()),
        pa.field("created_at", TS),
        pa.field("duration_ms", pa.float64()),
        pa.field("outcome", pa.string()),
        pa.field("error_code", pa.string()),
        pa.field("detail", pa.string()),
    ]
)

JOBS_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string(), nullable=False),
        pa.field("store", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("tenant_id", pa.string()),
        pa.field("agent_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("message_ids", pa.list_(pa.string())),
        pa.field("metadata", pa.string()),  # JSON object applied to the memories the job adds
        pa.field("status", pa.string()),  # pending, running, done, failed
        pa.field("attempts", pa.int32()),
        pa.field("error_code", pa.string()),
        pa.field("error", pa.string()),
        pa.field("events", pa.string()),  # JSON list of events
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
        # Added with user profiles; tables created before get them (null) when opened.
        pa.field("profile_schema_id", pa.string()),
        pa.field("profile_events", pa.string()),  # JSON list of profile events
        pa.field("owner", pa.string()),  # the worker's claim while running: host/pid/instance/claim (jobs.py)
        pa.field("lease_until", TS),  # the claim lapses then
    ]
)

PROFILE_SCHEMAS_SCHEMA = pa.schema(
    [
        pa.field("profile_schema_id", pa.string(), nullable=False),
        pa.field("app_id", pa.string()),
        pa.field("name", pa.string()),
        pa.field("description", pa.string()),
        pa.field("attributes", pa.string()),  # JSON list of {attribute_id, name, description, default_value}
        pa.field("created_at", TS),
        pa.field("updated_at", TS),
    ]
)

PROFILE_VALUES_SCHEMA = pa.schema(
    [
        pa.field("row_key", pa.string(), nullable=False),
        pa.field("profile_schema_id", pa.string()),
        pa.field("attribute_id", pa.string()),
        pa.field("app_id", pa.string()),
        pa.field("tenant_id", pa.string()),
        pa.field("version", pa.int32()),
        pa.field("value", pa.string()),  # null: the value was cleared
        pa.field("status", pa.string()),  # current, superseded
        pa.field("event", pa.string()),  # ADD, UPDATE, DELETE
        pa.field("source", pa.list_(pa.string())),  # message ids
        pa.field("confidence", pa.float32()),
        pa.field("extractor", pa.string()),
        pa.field("model", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("created_at", TS),
        pa.field("superseded_at", TS),
    ]
)

#: Columns of a memory table other than the vector; reads select these.
MEMORY_COLUMNS = (
    "row_key", "id", "version", "app_id", "tenant_id", "agent_id", "run_id", "text", "fts_text", "type",
    "key", "metadata", "tags", "confidence", "status", "source", "extractor", "model", "created_at",
    "updated_at", "valid_from", "superseded_at", "deleted_at", "request_id",
)
# Scalar indexes of a memory table, by column: "btree" or "bitmap".
# - Bitmap for the scope, status and type columns: every search and list filters on ``app_id`` and
#   ``status``, which match nearly every row, and a B-tree answers such a predicate with a row set the
#   size of the table. At 100,000 memories, ``app_id = .. AND tenant_id = .. AND status = 'active'``
#   counts in 0.7 ms with bitmaps and 5.2 ms with B-trees, and the full-text query with that
#   prefilter takes 3.6-4.0 ms instead of 9.2 ms (tenant_id measured as fast with 5,000 tenants).
# - B-tree for the columns with a value per memory or per conversation (``id``, ``row_key``,
#   ``run_id``): a bitmap per distinct value would grow without bound. ``row_key`` serves the update
#   path (fetching the current version, the ``merge_insert`` on it, the soft delete): at 100,000
#   memories a lookup by it takes 15 ms with the index and 32 ms without.
_SCALAR_INDEXES = {
    "id": "btree", "row_key": "btree", "run_id": "btree",
    "app_id": "bitmap", "tenant_id": "bitmap", "agent_id": "bitmap", "status": "bitmap", "type": "bitmap",
}
# Past this many rows (of the whole table: LanceDB's flat scan with a tenant prefilter still reads every
# row's vector) the IVF_HNSW_SQ index is faster than a flat scan: bench/scale.py measured it faster from
# 1,500 rows on (12 vs 18 ms at 3,000; 17 vs 39 ms at 10,000; 20 vs 240 ms at 100,000), with recall@10
# against exact search of 0.99-1.0 once re-ranked (ANN_REFINE_FACTOR).
ANN_INDEX_MIN_ROWS = 2_000
# Candidates the index returns per wanted row, re-ranked with exact distances: recall@10 0.90-0.98 -> 1.0
# at 100,000 memories for 1-2 ms.
ANN_REFINE_FACTOR = 5
# Fold new rows into the indexes after this many writes to a table (unindexed rows are still found,
# by a slower flat scan, so this is about speed, not correctness).
OPTIMIZE_EVERY_WRITES = 100


def memory_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("row_key", pa.string(), nullable=False),
            pa.field("id", pa.string(), nullable=False),
            pa.field("version", pa.int32()),
            pa.field("app_id", pa.string()),
            pa.field("tenant_id", pa.string()),
            pa.field("agent_id", pa.string()),
            pa.field("run_id", pa.string()),
            pa.field("text", pa.string()),
            pa.field("fts_text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), dim)),
            pa.field("type", pa.string()),
            # The slot of a single-valued fact ("drink", "home_city"): a new value replaces the old.
            pa.field("key", pa.string()),
            # Lance's JSON type: filters can reach inside with json_get_string(metadata, 'key').
            pa.field("metadata", pa.json_(pa.string())),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("confidence", pa.float32()),
            pa.field("status", pa.string()),
            pa.field("source", pa.list_(pa.string())),
            pa.field("extractor", pa.string()),
            pa.field("model", pa.string()),
            pa.field("created_at", TS),
            pa.field("updated_at", TS),
            pa.field("valid_from", TS),
            pa.field("superseded_at", TS),
            pa.field("deleted_at", TS),
            pa.field("request_id", pa.string()),
        ]
    )


def memory_table_name(store: str, generation: int) -> str:
    """A filesystem-safe table name for a store (store names may be Chinese)."""
    digest = hashlib.sha1(store.encode("utf-8")).hexdigest()[:16]
    return f"mem_{digest}_{generation}"


def _rows(data: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as dicts; a ``vector`` column becomes float32 numpy rows (not lists of Python floats,
    which cost more than the query for a few hundred candidates)."""
    if "vector" not in data.column_names or data.num_rows == 0:
        return data.to_pylist()
    column = data.column("vector").combine_chunks()
    vectors = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
    rows = data.drop_columns(["vector"]).to_pylist()
    for row, vector in zip(rows, vectors):
        row["vector"] = vector
    return rows


def _scalar_index(kind: str) -> Any:
    from lancedb.index import BTree, Bitmap

    return Bitmap() if kind == "bitmap" else BTree()


def _is_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "conflict" in text or "retryable" in text or "concurrent" in text


class Database:
    """The embedded database. Opened lazily: importing lancedb costs about a second, and a stdio
    server must answer ``initialize`` before that."""

    def __init__(
        self,
        uri: str,
        storage_options: dict[str, str] | None = None,
        read_consistency_s: float = 0.0,
        resident_memories_mib: float = 0.0,
    ) -> None:
        self.uri = uri
        self._storage_options = storage_options
        # 0: every read checks for commits by other processes (strong consistency across servers);
        # N > 0: reads may lag other writers by up to N seconds, saving a manifest check per read.
        self._read_consistency = timedelta(seconds=read_consistency_s)
        self._conn: Any = None
        self._tables: dict[str, Any] = {}
        # The schema each table was created with. Writes use it rather than the schema LanceDB reports,
        # which shows the JSON column as raw binary: data must arrive typed as JSON to be encoded.
        self._schemas: dict[str, pa.Schema] = {}
        self._writes: dict[str, int] = {}
        self._cache: dict[tuple[str, str | None], tuple[int, list[dict[str, Any]]]] = {}
        self._optimizing: set[str] = set()
        self._optimize_locks: dict[str, threading.Lock] = {}
        self._maintenance: queue.Queue[Any] | None = None
        self._lock = threading.RLock()
        # Searched tenants' memories held in memory for exact scans (resident.py); 0: every search asks LanceDB.
        self.resident = ResidentMemories(
            int(resident_memories_mib * 2**20), self._load_resident, lambda name: self._tables[name].version
        )

    # -- connection and tables ------------------------------------------------------------------

    def _connect(self) -> Any:
        with self._lock:
            if self._conn is None:
                import lancedb

                self._conn = lancedb.connect(
                    self.uri, read_consistency_interval=self._read_consistency, storage_options=self._storage_options
                )
            return self._conn

    def _table(self, name: str, schema: pa.Schema, setup: Callable[[Any], None] | None = None) -> Any:
        with self._lock:
            table = self._tables.get(name)
            if table is not None:
                return table
            self._schemas[name] = schema
            conn = self._connect()
            try:
                table = conn.open_table(name)
                self._add_missing_columns(table, schema)
            except (FileNotFoundError, ValueError):
                table = conn.create_table(name, schema=schema, exist_ok=True)
                if setup is not None:
                    self._retry(lambda: setup(table))
            else:
                self._add_missing_columns(table, schema)
            self._tables[name] = table
            return table

    def _add_missing_columns(self, table: Any, schema: pa.Schema) -> None:
        """Bring a table written by an older version up to ``schema``: new columns start out null."""
        missing = [f for f in schema if f.name not in table.schema.names]
        if not missing:
            return
        try:
            self._retry(lambda: table.add_columns(missing))
        except (OSError, RuntimeError, ValueError):
            # Another process may have added them a moment ago; only a real failure remains one.
            table.checkout_latest()
            if any(f.name not in table.schema.names for f in missing):
                raise
        log.info("added columns %s to table %s", [f.name for f in missing], table.name)

    def _retry(self, fn: Callable[[], T], attempts: int = 8) -> T:
        delay = 0.02
        for attempt in range(attempts):
            try:
                return fn()
            except (OSError, RuntimeError, ValueError) as exc:
                if not _is_conflict(exc) or attempt == attempts - 1:
                    if _is_conflict(exc):
                        raise ConflictError(
                            "Another writer kept changing the same data; nothing was written. Retry the call."
                        ) from exc
                    raise
                log.debug("commit conflict, retrying: %s", exc)
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        raise AssertionError("unreachable")

    def stores(self) -> Any:
        return self._table("stores", STORES_SCHEMA)

    def messages(self) -> Any:
        def setup(t: Any) -> None:
            from lancedb.index import BTree

            for col in ("store", "tenant_id", "run_id"):
                t.create_index(col, config=BTree(), replace=True)

        return self._table("messages", MESSAGES_SCHEMA, setup)

    def requests(self) -> Any:
        return self._table("requests", REQUESTS_SCHEMA)

    def jobs(self) -> Any:
        return self._table("jobs", JOBS_SCHEMA)

    def profile_schemas(self) -> Any:
        return self._table("profile_schemas", PROFILE_SCHEMAS_SCHEMA)

    def profile_values(self) -> Any:
        def setup(t: Any) -> None:
            from lancedb.index import BTree

            for col in ("profile_schema_id", "tenant_id"):
                t.create_index(col, config=BTree(), replace=True)

        return self._table("profile_values", PROFILE_VALUES_SCHEMA, setup)

    def memories(self, table_name: str, dim: int) -> Any:
        def setup(t: Any) -> None:
            from lancedb.index import FTS

            for col, kind in _SCALAR_INDEXES.items():
                t.create_index(col, config=_scalar_index(kind), replace=True)
            # Terms are pre-tokenised by retrieval.fts_text; "simple" splits them on spaces and
            # stems the English ones.
            t.create_index(
                "fts_text",
                config=FTS(base_tokenizer="simple", lower_case=True, stem=True, remove_stop_words=False),
                replace=True,
            )

        return self._table(table_name, memory_schema(dim), setup)

    def drop_table(self, name: str) -> None:
        self.resident.invalidate(name)
        with self._lock:
            self._tables.pop(name, None)
            try:
                self._connect().drop_table(name)
            except (FileNotFoundError, ValueError):
                pass

    # -- generic row operations -----------------------------------------------------------------

    def insert(self, table: Any, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        data = pa.Table.from_pylist(list(rows), schema=self._schemas[table.name])
        result = self._retry(lambda: table.add(data))
        self.resident.applied(table.name, getattr(result, "version", None), rows)
        self._after_write(table)

    def upsert(self, table: Any, key: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, replacing those with the same ``key``: one atomic commit."""
        if not rows:
            return
        data = pa.Table.from_pylist(list(rows), schema=self._schemas[table.name])
        result = self._retry(
            lambda: table.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(data)
        )
        if key == "row_key":
            self.resident.applied(table.name, getattr(result, "version", None), rows)
        else:
            self.resident.invalidate(table.name)
        self._after_write(table)

    def update(self, table: Any, where: str, values: dict[str, Any]) -> int:
        """Set ``values`` on the rows matching ``where`` in one commit; returns how many rows changed.
        Of two conditional updates racing on one row, in one process or two, only one matches: the
        commits are serialised and a conflicting one is re-applied to the newer version (jobs.py
        claims jobs this way; tests/test_jobs.py races two processes)."""
        result = self._retry(lambda: table.update(where=where, values=values))
        self.resident.invalidate(table.name)
        self._after_write(table)
        return int(getattr(result, "rows_updated", 0) or 0)

    def delete(self, table: Any, where: str) -> None:
        self._retry(lambda: table.delete(where))
        self.resident.invalidate(table.name)

    def rows(
        self,
        table: Any,
        where: str | None,
        columns: Sequence[str] | None = None,
        order_by: Sequence[tuple[str, str]] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows matching ``where``, sorted, then sliced ``[offset:offset+limit]``."""
        if columns is not None:
            columns = [*columns, *(c for c, _ in order_by if c not in columns)]
        data = self.arrow(table, where, columns)
        if order_by:
            data = data.sort_by(list(order_by))
        if offset or limit is not None:
            data = data.slice(offset, limit if limit is not None else data.num_rows)
        return data.to_pylist()

    def cached_rows(self, table: Any, where: str | None) -> list[dict[str, Any]]:
        """``rows(table, where)``, memoised until the table's version changes (a commit by any process:
        the version check reads the latest manifest, a tenth of the cost of the query). For small,
        hot tables: every operation reads its store's row."""
        version = table.version
        key = (table.name, where)
        hit = self._cache.get(key)
        if hit is None or hit[0] != version:
            rows = self.rows(table, where)
            with self._lock:
                if len(self._cache) >= 1024:
                    self._cache.clear()
                self._cache[key] = (version, rows)
            return [dict(r) for r in rows]
        return [dict(r) for r in hit[1]]

    def arrow(self, table: Any, where: str | None, columns: Sequence[str] | None = None) -> pa.Table:
        query = table.search()
        if where:
            query = query.where(where)
        if columns:
            query = query.select(list(columns))
        return query.limit(None).to_arrow()

    def count(self, table: Any, where: str | None) -> int:
        return table.count_rows(where) if where else table.count_rows()

    def vector_search(
        self, table: Any, vector: np.ndarray, where: str | None, limit: int, columns: Iterable[str],
        exact: bool = False,
        nprobes: int | None = None,
        match: RowMatch | None = None,
        ef: int | None = None,
        refine_factor: int = ANN_REFINE_FACTOR,
    ) -> list[dict[str, Any]]:
        """Nearest rows by cosine distance (``_distance``).

        With ``match`` (the same rows as ``where``, in terms resident.py can check) and the tenant's
        memories resident at the table's latest version: an exact scan in memory (rows with every
        column). Otherwise through the ANN index where the table has one (its 8-bit distances
        re-ranked exactly over ``refine_factor`` x ``limit`` rows; ``nprobes`` and ``ef`` override
        LanceDB's defaults, for bench/ann_params.py), else, or with ``exact``, a flat scan."""
        if match is not None and not exact:
            top = self.resident.top(table.name, table.version, vector, match, limit)
            if top is not None:
                return top
        query = table.search(vector.astype(np.float32), vector_column_name="vector").distance_type("cosine")
        query = query.bypass_vector_index() if exact else query.refine_factor(refine_factor)
        if nprobes is not None and not exact:
            query = query.nprobes(nprobes)
        if ef is not None and not exact:
            query = query.ef(ef)
        if where:
            query = query.where(where, prefilter=True)
        return _rows(query.select([*columns, "_distance"]).limit(limit).to_arrow())

    def _load_resident(self, table_name: str, app_id: str, tenant_id: str, max_bytes: int) -> tuple[int, pa.Table | None]:
        """A tenant's rows for resident.py, read at exactly the table's latest version (a handle checked
        out at it, so a commit landing meanwhile cannot mix into the snapshot)."""
        pinned = self._connect().open_table(table_name)
        version = pinned.version
        pinned.checkout(version)
        where = f"app_id = {sql_string(app_id)} AND tenant_id = {sql_string(tenant_id)}"
        if pinned.count_rows(where) * row_bytes(pinned.schema.field("vector").type.list_size) > max_bytes:
            return version, None
        return version, pinned.search().where(where).select([*MEMORY_COLUMNS, "vector"]).limit(None).to_arrow()

    def fts_search(
        self, table: Any, text: str, where: str | None, limit: int, columns: Iterable[str], with_vector: bool = True,
        match: RowMatch | None = None,
    ) -> list[dict[str, Any]]:
        """BM25 matches of ``text`` (pre-tokenised terms) in ``fts_text``, best first, with ``_score``.

        With ``match`` and the tenant's snapshot current (see ``vector_search``), the query reads only
        ``row_key`` and the score, and the rows come from the snapshot, vectors included."""
        if not text.strip():
            return []
        query = table.search(text, query_type="fts", fts_columns="fts_text")
        if where:
            query = query.where(where, prefilter=True)
        if match is not None:
            version = table.version
            if self.resident.current(table.name, version, match):
                hits = query.select(["row_key", "_score"]).limit(limit).to_arrow().to_pylist()
                keys = [h["row_key"] for h in hits]
                known = self.resident.rows(table.name, version, match, keys) or {}
                # Rows the snapshot lacks (committed since the version check): read them whole.
                missing = [k for k in keys if k not in known]
                if missing:
                    where_keys = f"row_key IN ({', '.join(sql_string(k) for k in missing)})"
                    known.update((r["row_key"], r) for r in _rows(self.arrow(table, where_keys, [*columns, "vector"])))
                return [{**known[h["row_key"]], "_score": h["_score"]} for h in hits if h["row_key"] in known]
        return _rows(query.select([*columns, *(["vector"] if with_vector else []), "_score"]).limit(limit).to_arrow())

    # -- maintenance ----------------------------------------------------------------------------

    def _after_write(self, table: Any) -> None:
        name = table.name
        with self._lock:
            count = self._writes.get(name, 0) + 1
            self._writes[name] = count
        if count % OPTIMIZE_EVERY_WRITES == 0:
            self.schedule_optimize(table)

    def schedule_optimize(self, table: Any) -> None:
        """Run :meth:`optimize` on a background thread (one at a time; a table already queued is not
        queued twice), so the write that crosses the threshold does not wait for it."""
        with self._lock:
            if table.name in self._optimizing:
                return
            self._optimizing.add(table.name)
            if self._maintenance is None:
                self._maintenance = queue.Queue()
                threading.Thread(target=self._maintain, name="mem-mcp-optimize", daemon=True).start()
            self._maintenance.put(table)

    def wait_for_maintenance(self) -> None:
        """Block until scheduled optimizations are done (for tests and benchmarks)."""
        if self._maintenance is not None:
            self._maintenance.join()

    def _maintain(self) -> None:
        assert self._maintenance is not None
        while True:
            table = self._maintenance.get()
            try:
                with self._lock:
                    self._optimizing.discard(table.name)
                self.optimize(table)
            except Exception:  # the maintenance thread must outlive any one table
                log.exception("background optimize of %s failed", table.name)
            finally:
                self._maintenance.task_done()

    def create_vector_index(self, table: Any) -> None:
        """The ANN index: IVF partitions, HNSW graphs inside them, 8-bit scalar-quantised vectors."""
        from lancedb.index import HnswSq

        table.create_index("vector", config=HnswSq(distance_type="cosine"), replace=True)

    def optimize(self, table: Any) -> None:
        """Compact files, fold new rows into the indexes, and build the ANN index once it pays.

        One optimization per table at a time in this process (an import's own call and the background
        thread would otherwise both build the same index and lose commit races to each other)."""
        with self._lock:
            lock = self._optimize_locks.setdefault(table.name, threading.Lock())
        with lock:
            self._optimize(table)

    def _optimize(self, table: Any) -> None:
        try:
            if "vector" in table.schema.names:
                existing = table.list_indices()
                indexed = {tuple(i.columns) for i in existing}
                # Tables created by an older version lack the indexes added since, or have a B-tree
                # where a bitmap now serves better: the old index is dropped, the new one built.
                kinds = {i.columns[0]: (i.name, str(i.index_type).lower()) for i in existing if len(i.columns) == 1}
                for col, kind in _SCALAR_INDEXES.items():
                    name, have = kinds.get(col, (None, None))
                    if have == kind:
                        continue
                    if name is not None:
                        table.drop_index(name)
                    table.create_index(col, config=_scalar_index(kind), replace=True)
                if ("vector",) not in indexed and table.count_rows() >= ANN_INDEX_MIN_ROWS:
                    self.create_vector_index(table)
            # Compaction loses a commit race to a concurrent update or delete now that it runs in the
            # background: retry it (the rewritten fragments of the lost attempt are garbage-collected).
            self._retry(lambda: table.optimize(cleanup_older_than=timedelta(days=7)))
        except (OSError, RuntimeError, ValueError, ConflictError) as exc:
            # Maintenance must never fail a user's write; the next round tries again.
            log.warning("optimize of %s skipped: %s", table.name, exc)
