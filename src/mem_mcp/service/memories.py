"""Memories: add a text as written, get, update (a new version), delete (soft), history, list.

Every version write goes through ``Memories.new_version`` and every soft delete through
``Memories.soft_delete`` (both in versions.py): the one place where a memory's versions change.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import numpy as np

from .. import retrieval
from ..config import Settings
from ..embeddings import Embedder
from ..errors import ConflictError, InvalidArgumentError, InvalidScopeError, MemoryNotFoundError
from ..extraction.offline.keys import memory_key
from ..filters import compile_filter
from ..ids import derived_id, new_id, now
from ..models import (
    HistoryEntry,
    ListOffset,
    Memory,
    MemoryEvent,
    MemoryHistory,
    MemoryPage,
    MemoryStore,
    OrderBy,
    PageLimit,
    Scope,
    SimilarMemory,
    WriteResult,
)
from ..scope import Mode
from ..storage import Database
from ..storage.sql import sql_string
from ..validation import (
    ORDER_COLUMNS,
    check_bounded,
    check_metadata,
    check_order,
    check_tags,
    check_text,
    check_types,
)
from .context import DEFAULT_STORE, CallContext, Envelope, ScopeArg
from .rows import READ_COLUMNS, memory_model, memory_row, scope_of, scope_where
from .stores import Stores
from .versions import VersionWrites

#: Memories of one text in one scope, each since updated or deleted, before a new one gets a random id.
TEXT_GENERATIONS = 32


def text_memory_id(table: str, scope: Scope, text: str, generation: int) -> str:
    """The id a text saved as written gets: the same in every process for the same store table, scope
    and text, so that two identical adds at once insert one memory (the other answers NONE).
    ``generation`` counts earlier memories of that text in that scope that were updated or deleted."""
    return derived_id("mem", table, *scope.model_dump().values(), text, str(generation))


#: At most this many similar memories on an ADD, each at least this similar (calibrated, in [0, 1]).
SIMILAR_LIMIT = 3
SIMILAR_FLOOR = 0.3


def _mentions(obj: Any, key: str) -> bool:
    if isinstance(obj, Mapping):
        return any(k == key or _mentions(v, key) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_mentions(v, key) for v in obj)
    return False


def memory_where(
    scope: Scope, filter: Mapping[str, Any] | None, types: Sequence[str] | None, include_superseded: bool
) -> str:
    """The SQL condition of a search or list: scope, status, types and the caller's ``filter``."""
    parts = [scope_where(scope)]
    compiled = compile_filter(filter)
    if not (filter and _mentions(filter, "status")):
        parts.append("status IN ('active', 'superseded')" if include_superseded else "status = 'active'")
    if types:
        check_types(types)
        parts.append(f"type IN ({', '.join(sql_string(t) for t in types)})")
    if compiled:
        parts.append(f"({compiled})")
    return " AND ".join(parts)


class Memories(VersionWrites):
    """The memories table of each store, row by row."""

    def __init__(self, db: Database, settings: Settings, stores: Stores, envelope: Envelope) -> None:
        self.db = db
        self.settings = settings
        self.stores = stores
        self.envelope = envelope

    def check_text(self, text: Any, name: str) -> str:
        return check_text(text, name, self.settings.max_text_chars)

    # -- writes ---------------------------------------------------------------------------------

    def add_text(
        self,
        store: MemoryStore,
        table: Any,
        emb: Embedder,
        scope: Scope,
        text: str,
        mem_type: str,
        metadata: dict[str, Any],
        tags: list[str],
        source: list[str],
        request_id: str,
    ) -> MemoryEvent:
        """Save ``text`` as written; the same text again in the same scope answers NONE, also when two
        writers (threads or processes) add it at the same moment: both derive the same id and the
        database inserts it once (``text_memory_id``).

        A text that fills a single-valued slot (``memory_key``: home, employer, drink, relationship…)
        replaces the user's active memory of that slot (any agent or run of the tenant): UPDATE with
        ``old_text``, the old version kept in the history and out of search. Otherwise ADD, with the
        most similar existing memories in ``similar`` for the caller to judge.
        """
        with self.db.write_lock("text", table.name, *scope.model_dump().values(), text):
            existing = self.db.rows(
                table, f"{scope_where(scope)} AND status = 'active' AND text = {sql_string(text)}", ["id"], limit=1
            )
            if existing:
                return MemoryEvent(event="NONE", memory_id=existing[0]["id"], text=text, type=mem_type)
            user = scope_where(Scope(app_id=scope.app_id, tenant_id=scope.tenant_id, agent_id="*", run_id="*"))
            key = memory_key(text)
            replaced = None
            if key is not None:
                previous = self.db.rows(
                    table,
                    f"{user} AND status = 'active' AND key = {sql_string(key)}",
                    READ_COLUMNS,
                    [("updated_at", "descending")],
                    limit=1,
                )
                replaced = previous[0] if previous else None
            if replaced is None:
                return self._add_new_text(
                    table, emb, scope, user, text, key, mem_type, metadata, tags, source, request_id
                )
        # The slot's memory gets its next version after the text lock is released: write locks are
        # striped, so one held while taking another can wait on itself.
        self.new_version(
            store,
            table,
            replaced,
            request_id,
            text=text,
            metadata=metadata or None,
            tags=tags or None,
            source=source,
            extractor="text",
        )
        return MemoryEvent(
            event="UPDATE", memory_id=replaced["id"], text=text, old_text=replaced["text"], type=replaced["type"]
        )

    def _add_new_text(
        self,
        table: Any,
        emb: Embedder,
        scope: Scope,
        user: str,
        text: str,
        key: str | None,
        mem_type: str,
        metadata: dict[str, Any],
        tags: list[str],
        source: list[str],
        request_id: str,
    ) -> MemoryEvent:
        """The ADD of ``add_text`` (under its text lock): one memory of that text in that scope, however
        many writers add it at once, with the user's most similar memories in ``similar``."""
        vector = emb.embed_documents([text])[0]
        similar = self._similar(table, emb, user, vector)
        ts = now()
        for generation in range(TEXT_GENERATIONS + 1):
            memory_id = (
                text_memory_id(table.name, scope, text, generation) if generation < TEXT_GENERATIONS else new_id("mem")
            )
            row = memory_row(
                memory_id,
                1,
                scope,
                text,
                vector,
                mem_type,
                metadata,
                tags,
                1.0,
                "active",
                source,
                ts,
                ts,
                ts,
                request_id,
                key=key,
                extractor="text",
            )
            if self.db.insert_new(table, "row_key", [row]) and self._claimed(table, row):
                return MemoryEvent(event="ADD", memory_id=memory_id, text=text, type=mem_type, similar=similar)
            # That id exists: the same text added a moment ago by another writer (NONE), or an
            # earlier memory of this text since updated or deleted (try the next generation).
            latest = self._latest(table, memory_id, scope)
            if latest is not None and latest["status"] == "active" and latest["text"] == text:
                return MemoryEvent(event="NONE", memory_id=memory_id, text=text, type=mem_type)
        raise ConflictError(  # unreachable: the last id is random
            "Another writer kept adding this text; nothing was written. Retry the call.", field="text"
        )

    def _similar(self, table: Any, emb: Embedder, where: str, vector: np.ndarray) -> list[SimilarMemory]:
        """The user's active memories closest to ``vector``: up to ``SIMILAR_LIMIT`` with a calibrated
        similarity of at least ``SIMILAR_FLOOR``."""
        calibration = retrieval.calibration_for(emb.name)
        near = self.db.vector_search(table, vector, f"{where} AND status = 'active'", SIMILAR_LIMIT, READ_COLUMNS)
        out = []
        for row in near:
            score = round(calibration(1.0 - float(row["_distance"])), 4)
            if score >= SIMILAR_FLOOR:
                out.append(SimilarMemory(memory_id=row["id"], text=row["text"], score=score))
        return out

    # -- reads ----------------------------------------------------------------------------------

    def current_row(self, table: Any, memory_id: str, scope: Scope, store: str) -> dict[str, Any]:
        """The current version (active or deleted) of memory ``memory_id`` in ``scope``, whose ``*``
        segments match any agent or run. An id found in several scopes (possible only through imports
        with hand-picked ids) must be narrowed by the caller."""
        if not isinstance(memory_id, str) or not memory_id.strip():
            raise InvalidArgumentError(
                "`memory_id` is empty; pass the id a search or list returned.", field="memory_id"
            )
        rows = self.db.rows(
            table,
            f"id = {sql_string(memory_id, 'memory_id')} AND {scope_where(scope)} AND status IN ('active', 'deleted')",
            READ_COLUMNS,
            [("version", "descending")],
            limit=10,
        )
        if not rows:
            wild = [seg for seg in ("agent_id", "run_id") if getattr(scope, seg) == "*"]
            given = {k: v for k, v in scope.model_dump().items() if k not in wild}
            raise MemoryNotFoundError(
                f"No memory {memory_id!r} in store {store!r} for {given}. Check the id: search_memories and "
                "list_memories show each memory's id.",
                field="memory_id",
            )
        scopes = {scope_of(r) for r in rows}
        if len(scopes) > 1:
            found = sorted(f"agent_id={s.agent_id!r} run_id={s.run_id!r}" for s in scopes)
            raise InvalidScopeError(
                f"Memory id {memory_id!r} exists in {len(scopes)} scopes ({'; '.join(found)}); pass scope "
                "{agent_id, run_id} to say which.",
                field="scope",
            )
        return rows[0]

    # -- operations -----------------------------------------------------------------------------

    def list_memories(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        filter: Mapping[str, Any] | None = None,
        types: Sequence[str] | None = None,
        order_by: OrderBy = "created_at_desc",
        offset: int = 0,
        limit: int = 20,
        include_superseded: bool = False,
        ctx: CallContext | None = None,
    ) -> MemoryPage:
        """A page of memories in a scope (newest first by default), with the total that matched."""
        with self.envelope.operation("ListMemories", ctx, store, scope, "list") as req:
            assert req.scope is not None
            check_bounded("limit", limit, PageLimit)
            check_bounded("offset", offset, ListOffset)
            check_order(order_by)
            _, table, _ = self.stores.table_of(store)
            where = memory_where(req.scope, filter, types, include_superseded)
            col, direction = ORDER_COLUMNS.get(order_by, ("created_at", "descending"))
            total = self.db.count(table, where)
            rows = self.db.rows(table, where, READ_COLUMNS, [(col, direction), ("row_key", "ascending")], offset, limit)
            return MemoryPage(memories=[memory_model(r, store) for r in rows], total=total, offset=offset, limit=limit)

    def get_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """One memory by id. Omitted agent_id/run_id are the memory's own (any conversation of the same
        app and tenant reaches it); given ones must match."""
        return self._get(memory_id, store, scope, ctx, "id")

    def lookup_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """Find a memory by id within an app and tenant, whatever its agent and run (for resource reads)."""
        return self._get(memory_id, store, scope, ctx, "read")

    def _get(self, memory_id: str, store: str, scope: ScopeArg, ctx: CallContext | None, mode: Mode) -> Memory:
        with self.envelope.operation("GetMemory", ctx, store, scope, mode) as req:
            assert req.scope is not None
            _, table, _ = self.stores.table_of(store)
            row = self.current_row(table, memory_id, req.scope, store)
            req.scope = scope_of(row)
            return memory_model(row, store)

    def update_memory(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        tags: Sequence[str] | None = None,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        ctx: CallContext | None = None,
    ) -> WriteResult:
        """Write a new version of a memory (new text and/or metadata); the old version stays in history.
        Scope as for ``get_memory``."""
        with self.envelope.operation("UpdateMemory", ctx, store, scope, "id") as req:
            assert req.scope is not None
            if text is None and metadata is None and tags is None:
                raise InvalidArgumentError("Give new `text` and/or `metadata` to update.", field="text")
            new_text = self.check_text(text, "text") if text is not None else None
            meta = check_metadata(metadata) if metadata is not None else None
            tag_list = check_tags(tags) if tags is not None else None
            st, table, _ = self.stores.table_of(store)
            current = self.current_row(table, memory_id, req.scope, store)
            req.scope = scope_of(current)
            if current["status"] == "deleted":
                raise MemoryNotFoundError(
                    f"Memory {memory_id!r} was deleted; add it again with add_memories instead.", field="memory_id"
                )
            new_row = self.new_version(st, table, current, req.request_id, text=new_text, metadata=meta, tags=tag_list)
            event = MemoryEvent(
                event="UPDATE",
                memory_id=memory_id,
                text=new_row["text"],
                old_text=current["text"],
                type=current["type"],
            )
            return WriteResult(request_id=req.request_id, events=[event], memory=memory_model(new_row, store))

    def delete_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> WriteResult:
        """Soft-delete a memory: it leaves search and list, its history stays readable. Scope as for
        ``get_memory``."""
        with self.envelope.operation("DeleteMemory", ctx, store, scope, "id") as req:
            assert req.scope is not None
            _, table, _ = self.stores.table_of(store)
            current = self.current_row(table, memory_id, req.scope, store)
            req.scope = scope_of(current)
            if current["status"] == "deleted":
                return WriteResult(
                    request_id=req.request_id,
                    events=[MemoryEvent(event="NONE", memory_id=memory_id, text=current["text"])],
                    memory=memory_model(current, store),
                    note="Already deleted.",
                )
            self.soft_delete(table, current)
            event = MemoryEvent(
                event="DELETE",
                memory_id=memory_id,
                text=current["text"],
                old_text=current["text"],
                type=current["type"],
            )
            return WriteResult(request_id=req.request_id, events=[event], memory=memory_model(current, store))

    def memory_history(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> MemoryHistory:
        """Every version of a memory, oldest first, with the event that made it. Scope as for ``get_memory``."""
        with self.envelope.operation("MemoryHistory", ctx, store, scope, "id") as req:
            assert req.scope is not None
            _, table, _ = self.stores.table_of(store)
            req.scope = scope_of(self.current_row(table, memory_id, req.scope, store))  # the memory's own scope
            rows = self.db.rows(
                table,
                f"id = {sql_string(memory_id)} AND {scope_where(req.scope)}",
                READ_COLUMNS,
                [("version", "ascending")],
            )
            return MemoryHistory(memory_id=memory_id, entries=_history(rows))


def _history(rows: list[dict[str, Any]]) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    previous: str | None = None
    for row in rows:
        meta = json.loads(row["metadata"] or "{}")
        entries.append(
            HistoryEntry(
                event="ADD" if previous is None else "UPDATE",
                version=row["version"],
                text=row["text"],
                old_text=previous,
                metadata=meta,
                status=row["status"],
                at=row["valid_from"],
                request_id=row["request_id"],
            )
        )
        if row["status"] == "deleted":
            entries.append(
                HistoryEntry(
                    event="DELETE",
                    version=row["version"],
                    text=row["text"],
                    old_text=row["text"],
                    metadata=meta,
                    status="deleted",
                    at=row["deleted_at"],
                    request_id=None,
                )
            )
        previous = row["text"]
    return entries
