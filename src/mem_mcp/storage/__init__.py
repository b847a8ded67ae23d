"""Storage: the only package that imports ``lancedb`` (lazily, on first connection).

- ``schema``: the tables' Arrow schemas, the memory columns, index kinds, table names
- ``sql``: the only place values become SQL literals
- ``commits``: retrying optimistic commits that lost a race
- ``database``: ``Database`` (connection, tables, row operations, search, the row cache)
- ``maintenance``: indexes, compaction and the background optimizer
- ``resident``: the in-process exact scan over a searched tenant's memories
"""

from .database import ANN_REFINE_FACTOR, Database
from .maintenance import ANN_INDEX_MIN_ROWS, OPTIMIZE_EVERY_WRITES
from .resident import ResidentMemories, RowMatch
from .schema import (
    JOBS_SCHEMA,
    MEMORY_COLUMNS,
    MESSAGES_SCHEMA,
    PROFILE_SCHEMAS_SCHEMA,
    PROFILE_VALUES_SCHEMA,
    REQUESTS_SCHEMA,
    STORES_SCHEMA,
    TS,
    memory_schema,
    memory_table_name,
)
from .sql import in_list, scope_where, sql_string, ts_literal

__all__ = [
    "ANN_INDEX_MIN_ROWS",
    "ANN_REFINE_FACTOR",
    "JOBS_SCHEMA",
    "MEMORY_COLUMNS",
    "MESSAGES_SCHEMA",
    "OPTIMIZE_EVERY_WRITES",
    "PROFILE_SCHEMAS_SCHEMA",
    "PROFILE_VALUES_SCHEMA",
    "REQUESTS_SCHEMA",
    "STORES_SCHEMA",
    "TS",
    "Database",
    "ResidentMemories",
    "RowMatch",
    "in_list",
    "memory_schema",
    "memory_table_name",
    "scope_where",
    "sql_string",
    "ts_literal",
]
