"""The embedded LanceDB database: connection, tables, row operations, vector and full-text search.

Connections use ``read_consistency_interval=0`` so each read sees the latest commit of any other
process (a CLI beside a running server, several HTTP workers); writes that lose an optimistic
commit race are retried (commits.py). The tables and their shapes are in schema.py; indexes and
compaction in maintenance.py; the in-process exact scan that serves unfiltered searches in resident.py.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pyarrow as pa

from .commits import merge_on, retry, unique_key
from .locks import WriteLocks
from .maintenance import (
    Optimizer,
    create_btree_indexes,
    create_memory_indexes,
    create_vector_index,
    missing_indexes,
)
from .resident import ResidentMemories, RowMatch, arrow_rows, row_bytes
from .schema import (
    JOBS_SCHEMA,
    MEMORY_COLUMNS,
    MESSAGES_INDEXES,
    MESSAGES_SCHEMA,
    PROFILE_SCHEMAS_SCHEMA,
    PROFILE_VALUES_INDEXES,
    PROFILE_VALUES_SCHEMA,
    REQUESTS_SCHEMA,
    STORES_SCHEMA,
    memory_schema,
)
from .sql import in_list, sql_string

__all__ = ["ANN_REFINE_FACTOR", "Database"]

log = logging.getLogger(__name__)

# Candidates the index returns per wanted row, re-ranked with exact distances: recall@10 0.90-0.98 -> 1.0
# at 100,000 memories for 1-2 ms.
ANN_REFINE_FACTOR = 5


def _with_vectors(data: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows as dicts; a ``vector`` column becomes float32 numpy rows (not lists of Python floats,
    which cost more than the query for a few hundred candidates)."""
    if "vector" not in data.column_names or data.num_rows == 0:
        return arrow_rows(data)
    column = data.column("vector").combine_chunks()
    vectors = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
    rows = arrow_rows(data.drop_columns(["vector"]))
    for row, vector in zip(rows, vectors):
        row["vector"] = vector
    return rows


class Database:
    """The embedded database. Opened lazily: importing lancedb costs about a second, and a stdio
    server must answer ``initialize`` before that."""

    def __init__(
        self,
        uri: str,
        storage_options: dict[str, str] | None = None,
        read_consistency_s: float = 0.0,
        resident_memories_mib: float = 0.0,
        *,
        index_cache_mib: int = 24,
        metadata_cache_mib: int = 8,
        version_retention_s: float = 120.0,
        maintenance_interval_s: float = 300.0,
    ) -> None:
        self.uri = uri
        self._cache_bytes = (index_cache_mib << 20, metadata_cache_mib << 20)
        # Read-modify-write steps of one key, serialised across the processes of a local data dir.
        self.write_lock = WriteLocks(None if "://" in uri else Path(uri) / ".locks")
        self._storage_options = storage_options
        # 0: every read checks for commits by other processes (strong consistency across servers);
        # N > 0: reads may lag other writers by up to N seconds, saving a manifest check per read.
        self._read_consistency = timedelta(seconds=read_consistency_s)
        self._conn: Any = None
        self._tables: dict[str, Any] = {}
        # The schema each table was created with. Writes use it rather than the schema LanceDB reports,
        # which shows the JSON column as raw binary: data must arrive typed as JSON to be encoded.
        self._schemas: dict[str, pa.Schema] = {}
        self._cache: dict[tuple[str, str | None], tuple[int, list[dict[str, Any]]]] = {}
        self._lock = threading.RLock()
        self._optimizer = Optimizer(timedelta(seconds=version_retention_s), maintenance_interval_s, self._all_tables)
        # Searched tenants' memories held in memory for exact scans (resident.py); 0: every search asks LanceDB.
        self.resident = ResidentMemories(
            int(resident_memories_mib * 2**20), self._load_resident, lambda name: self._tables[name].version
        )

    def close(self) -> None:
        """Stop the background threads (the optimizer, the resident loader) after the work in progress.
        Reads and writes still work afterwards, without background optimization or resident scans."""
        self._optimizer.close()
        self.resident.close()

    # -- connection and tables ------------------------------------------------------------------

    def _connect(self) -> Any:
        with self._lock:
            if self._conn is None:
                import lancedb

                # Bounded caches: LanceDB's defaults (6 GiB of index pages, 1 GiB of metadata) grow a
                # long-running process by every new table version's entries (issue 13: ~200 KiB/write).
                session = lancedb.Session(
                    index_cache_size_bytes=self._cache_bytes[0], metadata_cache_size_bytes=self._cache_bytes[1]
                )
                self._conn = lancedb.connect(
                    self.uri,
                    read_consistency_interval=self._read_consistency,
                    storage_options=self._storage_options,
                    session=session,
                )
            return self._conn

    def _table(
        self, name: str, schema: pa.Schema, setup: Callable[[Any], None] | None = None, key: str | None = None
    ) -> Any:
        """The table ``name``, created if absent. ``key``: the column ``insert_new``/``upsert`` merge on,
        declared the table's primary key so that concurrent inserts of one key insert it once (commits.py)."""
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
                if key is not None:
                    unique_key(table, key)
                if setup is not None:
                    retry(lambda: setup(table))
            else:
                self._add_missing_columns(table, schema)
                if key is not None:
                    unique_key(table, key)
                if "vector" in schema.names and missing_indexes(table):
                    self._optimizer.schedule(table)  # repaired in the background (maintenance.py)
            self._tables[name] = table
            return table

    def _add_missing_columns(self, table: Any, schema: pa.Schema) -> None:
        """Bring a table written by an older version up to ``schema``: new columns start out null."""
        missing = [f for f in schema if f.name not in table.schema.names]
        if not missing:
            return
        try:
            retry(lambda: table.add_columns(missing))
        except (OSError, RuntimeError, ValueError):
            # Another process may have added them a moment ago; only a real failure remains one.
            table.checkout_latest()
            if any(f.name not in table.schema.names for f in missing):
                raise
        log.info("added columns %s to table %s", [f.name for f in missing], table.name)

    def stores(self) -> Any:
        return self._table("stores", STORES_SCHEMA, key="name")

    def messages(self) -> Any:
        return self._table("messages", MESSAGES_SCHEMA, lambda t: create_btree_indexes(t, MESSAGES_INDEXES), "id")

    def requests(self) -> Any:
        return self._table("requests", REQUESTS_SCHEMA)

    def jobs(self) -> Any:
        return self._table("jobs", JOBS_SCHEMA)

    def profile_schemas(self) -> Any:
        return self._table("profile_schemas", PROFILE_SCHEMAS_SCHEMA)

    def profile_values(self) -> Any:
        return self._table(
            "profile_values",
            PROFILE_VALUES_SCHEMA,
            lambda t: create_btree_indexes(t, PROFILE_VALUES_INDEXES),
            "row_key",
        )

    def memories(self, table_name: str, dim: int) -> Any:
        return self._table(table_name, memory_schema(dim), create_memory_indexes, "row_key")

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
        result = retry(lambda: table.add(data))
        self.resident.applied(table.name, getattr(result, "version", None), rows)
        self._optimizer.wrote(table)

    def upsert(self, table: Any, key: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, replacing those with the same ``key`` (the table's primary key): one atomic commit."""
        if not rows:
            return
        data = pa.Table.from_pylist(list(rows), schema=self._schemas[table.name])
        result = retry(
            lambda: merge_on(table, key).when_matched_update_all().when_not_matched_insert_all().execute(data)
        )
        if key == "row_key":
            self.resident.applied(table.name, getattr(result, "version", None), rows)
        else:
            self.resident.invalidate(table.name)
        self._optimizer.wrote(table)

    def insert_new(self, table: Any, key: str, rows: Sequence[dict[str, Any]]) -> int:
        """Insert the rows whose ``key`` (the table's primary key) no row has yet; returns how many were
        inserted. Two writers inserting the same key at once, in one process or two, on a local directory
        or object storage, insert it once: the second commit conflicts and is re-run (commits.py)."""
        if not rows:
            return 0
        data = pa.Table.from_pylist(list(rows), schema=self._schemas[table.name])
        result = retry(lambda: merge_on(table, key).when_not_matched_insert_all().execute(data))
        inserted = int(result.num_inserted_rows or 0)
        if inserted == len(rows):
            self.resident.applied(table.name, getattr(result, "version", None), rows)
        else:
            self.resident.invalidate(table.name)
        self._optimizer.wrote(table)
        return inserted

    def update(self, table: Any, where: str, values: dict[str, Any]) -> int:
        """Set ``values`` on the rows matching ``where`` in one commit; returns how many rows changed.
        Of two conditional updates racing on one row, in one process or two, only one matches: the
        commits are serialised and a conflicting one is re-applied to the newer version (jobs.py
        claims jobs this way; tests/service/test_jobs.py races two processes)."""
        result = retry(lambda: table.update(where=where, values=values))
        self.resident.invalidate(table.name)
        self._optimizer.wrote(table)
        return int(getattr(result, "rows_updated", 0) or 0)

    def delete(self, table: Any, where: str) -> None:
        retry(lambda: table.delete(where))
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
        return arrow_rows(data)

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
        self,
        table: Any,
        vector: np.ndarray,
        where: str | None,
        limit: int,
        columns: Iterable[str],
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
        return _with_vectors(query.select([*columns, "_distance"]).limit(limit).to_arrow())

    def _load_resident(
        self, table_name: str, app_id: str, tenant_id: str, max_bytes: int
    ) -> tuple[int, pa.Table | None]:
        """A tenant's rows for resident.py, read at exactly the table's latest version (a handle checked
        out at it, so a commit landing meanwhile cannot mix into the snapshot)."""
        pinned = self._connect().open_table(table_name)
        version = pinned.version
        pinned.checkout(version)
        where = f"app_id = {sql_string(app_id, 'app_id')} AND tenant_id = {sql_string(tenant_id, 'tenant_id')}"
        if pinned.count_rows(where) * row_bytes(pinned.schema.field("vector").type.list_size) > max_bytes:
            return version, None
        return version, pinned.search().where(where).select([*MEMORY_COLUMNS, "vector"]).limit(None).to_arrow()

    def fts_search(
        self,
        table: Any,
        text: str,
        where: str | None,
        limit: int,
        columns: Iterable[str],
        with_vector: bool = True,
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
                    where_keys = f"row_key IN {in_list(missing, 'row_key')}"
                    read = _with_vectors(self.arrow(table, where_keys, [*columns, "vector"]))
                    known.update((r["row_key"], r) for r in read)
                return [{**known[h["row_key"]], "_score": h["_score"]} for h in hits if h["row_key"] in known]
        selected = [*columns, *(["vector"] if with_vector else []), "_score"]
        return _with_vectors(query.select(selected).limit(limit).to_arrow())

    # -- maintenance ----------------------------------------------------------------------------

    def optimize(self, table: Any) -> None:
        """Compact the table and bring its indexes up to date now (see ``maintenance.Optimizer``)."""
        self._optimizer.optimize(table)

    def _all_tables(self) -> list[Any]:
        with self._lock:
            return list(self._tables.values())

    def maintain_all(self) -> None:
        """Optimize every table this process has opened, now (``MemoryService.maintenance``)."""
        for table in self._all_tables():
            self._optimizer.optimize(table)
        self._optimizer.release_memory()

    def schedule_optimize(self, table: Any) -> None:
        """Optimize the table on the background thread, so the caller does not wait for it."""
        self._optimizer.schedule(table)

    def wait_for_maintenance(self) -> None:
        """Block until scheduled optimizations are done (for tests and benchmarks)."""
        self._optimizer.wait()

    def create_vector_index(self, table: Any) -> None:
        """Build the ANN index now, whatever the table's size (bench/ann_params.py, bench/scale.py)."""
        create_vector_index(table)
