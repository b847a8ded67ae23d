"""``AsyncMemoryService``: the operations of ``MemoryService``, awaitable. Each runs the one blocking
implementation in a worker thread (``asyncio.to_thread``); the methods are written out so that they keep
their signatures and types."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import retrieval
from ..models import (
    AttributeOperation,
    CustomStrategy,
    Deleted,
    Memory,
    MemoryHistory,
    MemoryPage,
    MemoryStore,
    MessageInput,
    MessageList,
    OrderBy,
    ProfileAttributeInput,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    RequestList,
    RequestStatus,
    SearchResult,
    Stats,
    StoreList,
    UserProfile,
    WriteResult,
)
from .context import DEFAULT_STORE, CallContext, ScopeArg
from .core import MemoryService


class AsyncMemoryService:
    """The same operations as ``MemoryService``, awaitable: each runs in a worker thread.

    >>> svc = AsyncMemoryService(MemoryService(Settings()))
    >>> await svc.search_memories(query="咖啡")
    """

    def __init__(self, service: MemoryService) -> None:
        self.sync = service

    @property
    def settings(self) -> Any:
        return self.sync.settings

    async def warm_up(self) -> None:
        """Open the database, make sure the default store exists, load the embedding model, and read
        the default tenant's memories into memory."""
        return await asyncio.to_thread(self.sync.warm_up)

    async def create_store(
        self,
        name: str,
        description: str = "",
        extraction_strategies: Sequence[str] | None = None,
        custom_strategies: Sequence[CustomStrategy | Mapping[str, Any]] | None = None,
        short_term_ttl: int = 30,
        *,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Create a memory store, pinned to the configured embedding model. Usable at once."""
        return await asyncio.to_thread(
            self.sync.create_store,
            name,
            description,
            extraction_strategies,
            custom_strategies,
            short_term_ttl,
            ctx=ctx,
        )

    async def get_store(self, name: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> MemoryStore:
        return await asyncio.to_thread(self.sync.get_store, name, ctx=ctx)

    async def list_stores(self, *, ctx: CallContext | None = None) -> StoreList:
        return await asyncio.to_thread(self.sync.list_stores, ctx=ctx)

    async def update_store(
        self,
        name: str,
        description: str | None = None,
        extraction_strategies: Sequence[str] | None = None,
        custom_strategies: Sequence[CustomStrategy | Mapping[str, Any]] | None = None,
        short_term_ttl: int | None = None,
        *,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Change a store's description, strategies or TTL (its embedding model changes only by reindex)."""
        return await asyncio.to_thread(
            self.sync.update_store,
            name,
            description,
            extraction_strategies,
            custom_strategies,
            short_term_ttl,
            ctx=ctx,
        )

    async def delete_store(self, name: str, *, ctx: CallContext | None = None) -> Deleted:
        """Delete a store with all its memories and messages. The default store cannot be deleted."""
        return await asyncio.to_thread(self.sync.delete_store, name, ctx=ctx)

    async def add_memories(
        self,
        text: str | None = None,
        messages: Sequence[MessageInput | Mapping[str, Any]] | None = None,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Sequence[str] | None = None,
        type: str = "fact",
        sync: bool = True,
        profile_schema_id: str | None = None,
        profile_schema: str | None = None,
        ctx: CallContext | None = None,
    ) -> WriteResult:
        """Save ``text`` as a memory, as given, and/or store ``messages`` as the run's short-term memory.

        Saying the same text again in the same scope answers NONE instead of storing a duplicate. With
        ``profile_schema_id`` (or ``profile_schema``, seed 001's spelling), the extraction from ``messages``
        also fills the user's profile for that schema (``profile_events``).
        """
        return await asyncio.to_thread(
            self.sync.add_memories,
            text,
            messages,
            store=store,
            scope=scope,
            metadata=metadata,
            tags=tags,
            type=type,
            sync=sync,
            profile_schema_id=profile_schema_id,
            profile_schema=profile_schema,
            ctx=ctx,
        )

    async def search_memories(
        self,
        query: str | None = None,
        messages: Sequence[MessageInput | Mapping[str, Any]] | None = None,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        top_k: int = 10,
        min_score: float | None = None,
        types: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        order_by: OrderBy = "relevance",
        offset: int = 0,
        rerank: bool = True,
        include_superseded: bool = False,
        mode: retrieval.SearchMode = "hybrid",
        translation: str | None = None,
        ctx: CallContext | None = None,
    ) -> SearchResult:
        """Hybrid search (meaning + keywords) within a scope; agent_id/run_id may be '*'.

        ``mode`` picks the evidence: ``"hybrid"`` (default: vector and full-text candidates, fused),
        ``"vector"`` (nearest neighbours only) or ``"keyword"`` (full-text matches only; no embedding).
        """
        return await asyncio.to_thread(
            self.sync.search_memories,
            query,
            messages,
            store=store,
            scope=scope,
            top_k=top_k,
            min_score=min_score,
            types=types,
            filter=filter,
            order_by=order_by,
            offset=offset,
            rerank=rerank,
            include_superseded=include_superseded,
            mode=mode,
            translation=translation,
            ctx=ctx,
        )

    async def list_memories(
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
        return await asyncio.to_thread(
            self.sync.list_memories,
            store=store,
            scope=scope,
            filter=filter,
            types=types,
            order_by=order_by,
            offset=offset,
            limit=limit,
            include_superseded=include_superseded,
            ctx=ctx,
        )

    async def get_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """One memory by id; the scope must be concrete."""
        return await asyncio.to_thread(self.sync.get_memory, memory_id, store=store, scope=scope, ctx=ctx)

    async def lookup_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """Find a memory by id within an app and tenant, whatever its agent and run (for resource reads)."""
        return await asyncio.to_thread(self.sync.lookup_memory, memory_id, store=store, scope=scope, ctx=ctx)

    async def update_memory(
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
        """Write a new version of a memory (new text and/or metadata); the old version stays in history."""
        return await asyncio.to_thread(
            self.sync.update_memory,
            memory_id,
            text,
            metadata,
            tags=tags,
            store=store,
            scope=scope,
            ctx=ctx,
        )

    async def delete_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> WriteResult:
        """Soft-delete a memory: it leaves search and list, its history stays readable."""
        return await asyncio.to_thread(self.sync.delete_memory, memory_id, store=store, scope=scope, ctx=ctx)

    async def memory_history(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> MemoryHistory:
        """Every version of a memory, oldest first, with the event that made it."""
        return await asyncio.to_thread(self.sync.memory_history, memory_id, store=store, scope=scope, ctx=ctx)

    async def list_messages(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        limit: int = 100,
        offset: int = 0,
        ctx: CallContext | None = None,
    ) -> MessageList:
        """The short-term messages of one run, in order."""
        return await asyncio.to_thread(
            self.sync.list_messages,
            store=store,
            scope=scope,
            limit=limit,
            offset=offset,
            ctx=ctx,
        )

    async def list_requests(
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
        return await asyncio.to_thread(
            self.sync.list_requests,
            store=store,
            scope=scope,
            operation=operation,
            since=since,
            until=until,
            outcome=outcome,
            token_id=token_id,
            limit=limit,
            ctx=ctx,
        )

    async def resume_jobs(self) -> int:
        """Queue the jobs left pending, or running under a claim that lapsed (a crash mid-job). Returns how
        many. Another process resuming the same jobs is harmless: each job runs in whichever claims it."""
        return await asyncio.to_thread(self.sync.resume_jobs)

    async def wait_for_jobs(self) -> None:
        """Block until the background queue is empty (for tests and batch scripts)."""
        return await asyncio.to_thread(self.sync.wait_for_jobs)

    async def close(self) -> None:
        """Stop the background worker after the jobs already queued, and write the request log out."""
        return await asyncio.to_thread(self.sync.close)

    async def get_request(self, request_id: str, *, ctx: CallContext | None = None) -> RequestStatus:
        """The status of an add_memories request with messages: pending, running, done or failed, with events."""
        return await asyncio.to_thread(self.sync.get_request, request_id, ctx=ctx)

    async def retry_request(
        self, request_id: str, *, sync: bool = True, ctx: CallContext | None = None
    ) -> RequestStatus:
        """Run a failed extraction again from its saved messages."""
        return await asyncio.to_thread(self.sync.retry_request, request_id, sync=sync, ctx=ctx)

    async def create_profile_schema(
        self,
        name: str,
        attributes: Sequence[ProfileAttributeInput | Mapping[str, Any]],
        description: str = "",
        *,
        app_id: str | None = None,
        ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Define the attributes to extract about each user of the app (e.g. 年龄, 职业, 爱好). Names must be
        unique and not near-synonyms of each other (姓名/名字, 年龄/岁数)."""
        return await asyncio.to_thread(
            self.sync.create_profile_schema,
            name,
            attributes,
            description,
            app_id=app_id,
            ctx=ctx,
        )

    async def list_profile_schemas(
        self, *, offset: int = 0, limit: int = 50, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaList:
        """The app's profile schemas, oldest first, with the total."""
        return await asyncio.to_thread(
            self.sync.list_profile_schemas,
            offset=offset,
            limit=limit,
            app_id=app_id,
            ctx=ctx,
        )

    async def get_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchema:
        """One profile schema with its attributes."""
        return await asyncio.to_thread(self.sync.get_profile_schema, profile_schema_id, app_id=app_id, ctx=ctx)

    async def update_profile_schema(
        self,
        profile_schema_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        attribute_operations: Sequence[AttributeOperation | Mapping[str, Any]] | None = None,
        app_id: str | None = None,
        ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Rename or describe a schema, and add, update or delete attributes ({"op": "add"|"update"|"delete",
        "attribute_id", "name", "description", "default_value"}). A deleted attribute's values go with it."""
        return await asyncio.to_thread(
            self.sync.update_profile_schema,
            profile_schema_id,
            name=name,
            description=description,
            attribute_operations=attribute_operations,
            app_id=app_id,
            ctx=ctx,
        )

    async def delete_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaDeleted:
        """Delete a schema and every user's values for it."""
        return await asyncio.to_thread(self.sync.delete_profile_schema, profile_schema_id, app_id=app_id, ctx=ctx)

    async def get_user_profile(
        self,
        profile_schema_id: str | None = None,
        *,
        tenant_id: str | None = None,
        app_id: str | None = None,
        include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> UserProfile:
        """A user's profile: each attribute with its value (absent while unknown), default value and when it
        changed; with ``include_history`` every earlier value and the messages it came from. Without
        ``profile_schema_id``, the app's schema if it has exactly one."""
        return await asyncio.to_thread(
            self.sync.get_user_profile,
            profile_schema_id,
            tenant_id=tenant_id,
            app_id=app_id,
            include_history=include_history,
            ctx=ctx,
        )

    async def maintenance(self) -> None:
        """Run a maintenance pass over every table now (compaction, index repair, old versions deleted)."""
        await asyncio.to_thread(self.sync.maintenance)

    async def health(self) -> dict[str, Any]:
        """Whether the stores can be read, for a health endpoint. Not logged (load balancers poll it)."""
        return await asyncio.to_thread(self.sync.health)

    async def stats(self, store: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> Stats:
        """Counts of a store (for a token: of its own tenant)."""
        return await asyncio.to_thread(self.sync.stats, store, ctx=ctx)

    async def export_memories(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> list[dict[str, Any]]:
        """Memories as JSON-ready records (one per line in JSON Lines); vectors are not exported."""
        return await asyncio.to_thread(
            self.sync.export_memories,
            store=store,
            scope=scope,
            include_history=include_history,
            ctx=ctx,
        )

    async def import_memories(
        self,
        records: Iterable[Mapping[str, Any]],
        *,
        store: str = DEFAULT_STORE,
        progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> int:
        """Import exported records (validated first: one bad record writes nothing). Idempotent:
        importing the same records again replaces them instead of duplicating them."""
        return await asyncio.to_thread(self.sync.import_memories, records, store=store, progress=progress, ctx=ctx)

    async def reindex(
        self,
        store: str,
        model: str | None = None,
        *,
        progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Re-embed every version of every memory of a store with ``model`` (default: the configured one)."""
        return await asyncio.to_thread(self.sync.reindex, store, model, progress=progress, ctx=ctx)
