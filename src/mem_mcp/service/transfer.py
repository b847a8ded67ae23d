"""Moving memories in and out of a store: export to JSON-ready records, import them back, and reindex
a store with another embedding model."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from pydantic import ValidationError

from ..config import Settings
from ..embeddings import make_embedder
from ..errors import InvalidArgumentError, MemMcpError
from ..filters import sql_string
from ..ids import new_id, now
from ..models import MemoryStore, Scope
from ..scope import ScopeDefaults, resolve_scope
from ..storage import Database, memory_table_name
from ..validation import check_metadata, check_tags, check_text, check_type
from .context import DEFAULT_STORE, CallContext, Envelope, ScopeArg
from .rows import READ_COLUMNS, memory_row, scope_of, scope_where
from .stores import Stores

_EXPORT_TIMES = ("created_at", "updated_at", "valid_from", "superseded_at", "deleted_at")
_BATCH = 64


class Transfer:
    """``export_memories``, ``import_memories`` and ``reindex``."""

    def __init__(self, db: Database, settings: Settings, stores: Stores, envelope: Envelope) -> None:
        self.db = db
        self.settings = settings
        self.stores = stores
        self.envelope = envelope

    def export_memories(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> list[dict[str, Any]]:
        """Memories as JSON-ready records (one per line in JSON Lines); vectors are not exported."""
        with self.envelope.operation("ExportMemories", ctx, store) as req:
            parts: list[str] = []
            if scope is not None or req.ctx.defaults.locked:  # a token exports only its own tenant
                req.scope = resolve_scope(scope, req.ctx.defaults, "list")
                parts.append(scope_where(req.scope))
            if not include_history:
                parts.append("status = 'active'")
            _, table, _ = self.stores.table_of(store)
            rows = self.db.rows(
                table,
                " AND ".join(parts) or None,
                READ_COLUMNS,
                [("created_at", "ascending"), ("id", "ascending"), ("version", "ascending")],
            )
            return [export_record(r) for r in rows]

    def import_memories(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        store: str = DEFAULT_STORE,
        progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> int:
        """Import exported records (validated first: one bad record writes nothing). Idempotent:
        importing the same records again replaces them instead of duplicating them."""
        with self.envelope.operation("ImportMemories", ctx, store):
            st, table, _ = self.stores.table_of(store)
            emb = self.stores.embedder_for(st)
            parsed = [parse_record(i + 1, rec, self.settings.max_text_chars) for i, rec in enumerate(records)]
            written = 0
            for start in range(0, len(parsed), _BATCH):
                batch = parsed[start : start + _BATCH]
                vectors = emb.embed_documents([r["text"] for r in batch])
                rows = [
                    memory_row(
                        rec["id"],
                        rec["version"],
                        rec["scope"],
                        rec["text"],
                        vec,
                        rec["type"],
                        rec["metadata"],
                        rec["tags"],
                        rec["confidence"],
                        rec["status"],
                        rec["source"],
                        rec["created_at"],
                        rec["updated_at"],
                        rec["valid_from"],
                        rec["request_id"],
                        superseded_at=rec["superseded_at"],
                        deleted_at=rec["deleted_at"],
                        key=rec["key"],
                        extractor=rec["extractor"],
                        model=rec["model"],
                    )
                    for rec, vec in zip(batch, vectors)
                ]
                self.db.upsert(table, "row_key", rows)
                written += len(rows)
                if progress:
                    progress(len(rows))
            # A bulk load leaves many small fragments; compacting now halves search latency (bench/latency.py).
            self.db.optimize(table)
            return written

    def reindex(
        self,
        store: str,
        model: str | None = None,
        *,
        progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Re-embed every version of every memory of a store with ``model`` (default: the configured one)."""
        with self.envelope.operation("Reindex", ctx, store):
            row = self.stores.store_row(store)
            if row is None:
                self.stores.store(store)  # raises the helpful error
            assert row is not None
            emb = make_embedder(model, self.settings.model_cache_dir) if model else self.stores.embedder
            old_table = self.db.memories(row["table_name"], int(row["embedding_dim"]))
            generation = int(row["table_name"].rsplit("_", 1)[1]) + 1
            new_name = memory_table_name(store, generation)
            self.db.drop_table(new_name)  # a leftover of an interrupted reindex
            new_table = self.db.memories(new_name, emb.dim)
            data = self.db.arrow(old_table, None).to_pylist()
            for start in range(0, len(data), _BATCH):
                batch = data[start : start + _BATCH]
                vectors = emb.embed_documents([r["text"] for r in batch])
                for r, vec in zip(batch, vectors):
                    r["vector"] = vec.tolist()
                self.db.insert(new_table, batch)
                if progress:
                    progress(len(batch))
            self.db.update(
                self.db.stores(),
                f"name = {sql_string(store)}",
                {"embedding_model": emb.name, "embedding_dim": emb.dim, "table_name": new_name, "updated_at": now()},
            )
            self.db.drop_table(row["table_name"])
            self.db.optimize(new_table)
            self.stores.register(emb)
            return self.stores.store(store)


def export_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """One memory version as an export record (times in ISO 8601, no vector)."""
    rec: dict[str, Any] = {
        "id": row["id"],
        "version": int(row["version"]),
        "scope": scope_of(row).model_dump(),
        "text": row["text"],
        "type": row["type"],
        "metadata": json.loads(row["metadata"] or "{}"),
        "tags": list(row["tags"] or []),
        "confidence": round(float(row["confidence"]), 6),
        "status": row["status"],
        "source": list(row["source"] or []),
        "key": row["key"],
        "extractor": row["extractor"],
        "model": row["model"],
        "request_id": row["request_id"],
    }
    for key in _EXPORT_TIMES:
        value = row[key]
        rec[key] = value.astimezone(timezone.utc).isoformat() if value is not None else None
    return rec


def _times(rec: Mapping[str, Any], bad: Callable[[str], InvalidArgumentError]) -> dict[str, datetime | None]:
    ts = now()
    times: dict[str, datetime | None] = {}
    for key in _EXPORT_TIMES:
        value = rec.get(key)
        if value is None:
            times[key] = ts if key in ("created_at", "updated_at", "valid_from") else None
            continue
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError) as exc:
            raise bad(f"{key} {value!r} is not an ISO 8601 time") from exc
        times[key] = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return times


#: The fields of an export line (what ``export_records`` writes); an import refuses others.
_RECORD_FIELDS = frozenset(
    {
        "id",
        "version",
        "scope",
        "text",
        "type",
        "metadata",
        "tags",
        "confidence",
        "status",
        "source",
        "key",
        "extractor",
        "model",
        "request_id",
        *_EXPORT_TIMES,
    }
)


def parse_record(line: int, rec: Any, max_text_chars: int) -> dict[str, Any]:
    """Check one import record (line ``line``); any problem names the record and writes nothing."""

    def bad(msg: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"Import record {line}: {msg.rstrip('.')}. Nothing was imported.", field=f"records[{line}]", record=line
        )

    if not isinstance(rec, Mapping):
        raise bad("not a JSON object")
    unknown = sorted(set(rec) - _RECORD_FIELDS)
    if unknown:
        raise bad(
            f"unknown field `{unknown[0]}`; a line has the fields `mem-mcp export` writes "
            f"({', '.join(sorted(_RECORD_FIELDS))}), of which scope and text are required"
        )
    if not isinstance(rec.get("scope"), Mapping):
        raise bad('`scope` is missing or not an object: give {"app_id", "tenant_id", "agent_id", "run_id"}')
    try:
        scope = Scope.model_validate(rec["scope"])
        resolve_scope(scope.model_dump(), ScopeDefaults(), "write")
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise bad(
            f"`scope.{where}`: {err['msg'].lower()}; a scope needs app_id, tenant_id, agent_id and run_id"
        ) from exc
    except MemMcpError as exc:
        raise bad(f"invalid scope: {exc.message}") from exc
    confidence = rec.get("confidence", 1.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 <= confidence <= 1:
        raise bad(f"`confidence` {confidence!r} is not a number in [0, 1]")
    source = rec.get("source") or []
    if not isinstance(source, list):
        raise bad("`source` must be a list of ids")
    try:
        text = check_text(rec.get("text"), "text", max_text_chars)
    except MemMcpError as exc:
        raise bad(str(exc)) from exc
    times = _times(rec, bad)
    status = rec.get("status", "active")
    if status not in ("active", "superseded", "deleted"):
        raise bad(f"status {status!r} is not active, superseded or deleted")
    memory_id = rec.get("id") or new_id("mem")
    version = rec.get("version", 1)
    if not isinstance(memory_id, str) or not isinstance(version, int) or version < 1:
        raise bad("id must be a string and version a positive integer")
    try:
        return {
            "id": memory_id,
            "version": version,
            "scope": scope,
            "text": text,
            "type": check_type(rec.get("type", "fact")),
            "metadata": check_metadata(rec.get("metadata")),
            "tags": check_tags(rec.get("tags")),
            "confidence": float(confidence),
            "status": status,
            "source": [str(s) for s in source],
            "request_id": rec.get("request_id"),
            "key": rec.get("key"),
            "extractor": rec.get("extractor"),
            "model": rec.get("model"),
            **times,
        }
    except MemMcpError as exc:
        raise bad(str(exc)) from exc
