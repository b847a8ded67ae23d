"""The tables' shapes: Arrow schemas, the memory columns, index kinds, table names.

Tables:
- ``stores``: one row per memory store (settings, pinned embedding model, the memory table it uses).
- ``mem_<hash>_<n>``: one table per store (its vector dimension is the store's), one row per memory
  *version* keyed by ``row_key`` = ``<id>:<version>``. The newest version of a memory is ``active``
  or ``deleted``; older versions are ``superseded``. An update writes the new version and retires the
  old one in a single ``merge_insert`` commit, so a reader never sees two current versions.
- ``messages``: short-term messages of every store and run.
- ``requests``: the request log.
- ``jobs``: extraction jobs (jobs.py).
- ``profile_schemas``: one row per profile schema of an app, its attributes as a JSON list.
- ``profile_values``: one row per *version* of a user's profile attribute (per schema, app and tenant):
  the ``current`` version and the ``superseded`` ones before it, each with the messages it came from.

Plain data: this module imports pyarrow, not lancedb.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

__all__ = [
    "JOBS_SCHEMA",
    "MEMORY_COLUMNS",
    "MESSAGES_INDEXES",
    "MESSAGES_SCHEMA",
    "PROFILE_SCHEMAS_SCHEMA",
    "PROFILE_VALUES_INDEXES",
    "PROFILE_VALUES_SCHEMA",
    "REQUESTS_SCHEMA",
    "SCALAR_INDEXES",
    "STORES_SCHEMA",
    "TS",
    "memory_schema",
    "memory_table_name",
]

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
SCALAR_INDEXES = {
    "id": "btree",
    "row_key": "btree",
    "run_id": "btree",
    "app_id": "bitmap",
    "tenant_id": "bitmap",
    "agent_id": "bitmap",
    "status": "bitmap",
    "type": "bitmap",
}
#: B-tree indexed columns of the other indexed tables (the lookups their readers filter on).
MESSAGES_INDEXES = ("store", "tenant_id", "run_id")
PROFILE_VALUES_INDEXES = ("profile_schema_id", "tenant_id")


def memory_schema(dim: int) -> pa.Schema:
    """A memory table's schema: ``MEMORY_COLUMNS`` plus a ``vector`` of the store's width."""
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


#: Columns of a memory table other than the vector; reads select these.
MEMORY_COLUMNS: tuple[str, ...] = tuple(f.name for f in memory_schema(1) if f.name != "vector")


def memory_table_name(store: str, generation: int) -> str:
    """A filesystem-safe table name for a store (store names may be Chinese)."""
    digest = hashlib.sha1(store.encode("utf-8")).hexdigest()[:16]
    return f"mem_{digest}_{generation}"
