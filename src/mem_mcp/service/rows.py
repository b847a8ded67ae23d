"""Table rows <-> models, and the SQL conditions built from a scope: one place for each shape."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping, Sequence

import numpy as np

from .. import terms
from ..models import (
    CustomStrategy,
    Memory,
    MemoryEvent,
    MemoryStore,
    ProfileEvent,
    RequestStatus,
    Scope,
)
from ..scope import SEGMENTS
from ..storage import MEMORY_COLUMNS
from ..storage.resident import RowMatch
from ..storage.sql import scope_where as scope_where  # re-exported: SQL literals live in storage/sql.py
from ..storage.sql import ts_literal as ts_literal

#: The memory columns every read returns.
READ_COLUMNS = list(MEMORY_COLUMNS)


def scope_of(row: Mapping[str, Any]) -> Scope:
    return Scope(**{seg: row[seg] for seg in SEGMENTS})


def row_match(scope: Scope, types: Sequence[str] | None, include_superseded: bool) -> RowMatch:
    """The rows ``memories.memory_where`` selects when there is no ``filter``."""
    return RowMatch(
        app_id=scope.app_id,
        tenant_id=scope.tenant_id,
        agent_id=None if scope.agent_id == "*" else scope.agent_id,
        run_id=None if scope.run_id == "*" else scope.run_id,
        statuses=("active", "superseded") if include_superseded else ("active",),
        types=tuple(types) if types else None,
    )


def memory_row(
    memory_id: str,
    version: int,
    scope: Scope,
    text: str,
    vector: np.ndarray | Sequence[float],
    mem_type: str,
    metadata: Mapping[str, Any],
    tags: list[str],
    confidence: float,
    status: str,
    source: list[str],
    created_at: datetime,
    updated_at: datetime,
    valid_from: datetime,
    request_id: str | None,
    *,
    superseded_at: datetime | None = None,
    deleted_at: datetime | None = None,
    key: str | None = None,
    extractor: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """One row of a memories table (version ``version`` of memory ``memory_id``)."""
    return {
        "row_key": f"{memory_id}:{version}",
        "id": memory_id,
        "version": version,
        **scope.model_dump(),
        "text": text,
        "fts_text": terms.fts_text(text),
        "vector": np.asarray(vector, dtype=np.float32).tolist(),
        "type": mem_type,
        "key": key,
        "metadata": json.dumps(dict(metadata), ensure_ascii=False, sort_keys=True),
        "tags": tags,
        "confidence": confidence,
        "status": status,
        "source": source,
        "extractor": extractor,
        "model": model,
        "created_at": created_at,
        "updated_at": updated_at,
        "valid_from": valid_from,
        "superseded_at": superseded_at,
        "deleted_at": deleted_at,
        "request_id": request_id,
    }


def memory_model(row: Mapping[str, Any], store: str) -> Memory:
    return Memory(
        id=row["id"],
        store=store,
        scope=scope_of(row),
        text=row["text"],
        type=row["type"],
        metadata=json.loads(row["metadata"] or "{}"),
        tags=list(row["tags"] or []),
        confidence=round(float(row["confidence"]), 4),
        status=row["status"],
        source=list(row["source"] or []),
        key=row.get("key"),
        extractor=row.get("extractor"),
        model=row.get("model"),
        version=int(row["version"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        valid_from=row["valid_from"],
        superseded_at=row["superseded_at"],
        deleted_at=row["deleted_at"],
    )


def store_model(row: Mapping[str, Any]) -> MemoryStore:
    return MemoryStore(
        name=row["name"],
        description=row["description"] or "",
        extraction_strategies=json.loads(row["extraction_strategies"] or "[]"),
        custom_strategies=[CustomStrategy(**c) for c in json.loads(row["custom_strategies"] or "[]")],
        short_term_ttl=int(row["short_term_ttl"]),
        embedding_model=row["embedding_model"],
        embedding_dim=int(row["embedding_dim"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def status_model(job: Mapping[str, Any]) -> RequestStatus:
    return RequestStatus(
        request_id=job["request_id"],
        status=job["status"],
        store=job["store"],
        scope=scope_of(job),
        message_ids=list(job["message_ids"] or []),
        events=[MemoryEvent.model_validate(e) for e in json.loads(job["events"] or "[]")],
        profile_events=[ProfileEvent.model_validate(e) for e in json.loads(job.get("profile_events") or "[]")],
        profile_schema_id=job.get("profile_schema_id"),
        attempts=int(job["attempts"]),
        error_code=job["error_code"],
        error=job["error"],
        created_at=job["created_at"],
        updated_at=job["updated_at"],
    )
