"""Memory stores: create, read, update, delete, counts; each store's pinned embedding model and its
extraction strategies."""

from __future__ import annotations

import json
import threading
from typing import Any, Mapping, Sequence

from ..config import Settings
from ..embeddings import Embedder, make_embedder
from ..errors import (
    AlreadyExistsError,
    EmbeddingMismatchError,
    InvalidArgumentError,
    MemMcpError,
    StoreNotFoundError,
)
from ..extraction import StrategySpec
from ..extraction.base import BUILTIN_DESCRIPTIONS
from ..ids import now
from ..models import CustomStrategy, Deleted, MemoryStore, Stats, StoreList
from ..scope import resolve_scope
from ..storage import Database, memory_table_name
from ..storage.sql import sql_string
from ..validation import check_store_name, check_ttl, strategies
from ..validation import custom_strategies as parse_custom
from .context import DEFAULT_STORE, CallContext, Envelope
from .rows import scope_where, store_model


def strategy_specs(store: MemoryStore) -> list[StrategySpec]:
    """The extraction strategies of a store, as the extractor's contract takes them."""
    custom = {c.name: c for c in store.custom_strategies}
    specs = []
    for name in store.extraction_strategies:
        if name in custom:
            c = custom[name]
            specs.append(
                StrategySpec(
                    name=c.name,
                    type=c.type,
                    description=c.description,
                    extraction_prompt=c.extraction_prompt,
                    update_prompt=c.update_prompt,
                )
            )
        else:
            specs.append(StrategySpec(name=name, type=name, description=BUILTIN_DESCRIPTIONS.get(name, "")))
    return specs


def tenant_where(ctx: CallContext | None) -> str | None:
    """For a token bound to a tenant, the condition that keeps counts to that tenant."""
    if ctx is None or not ctx.defaults.locked or ctx.defaults.admin:
        return None
    return scope_where(resolve_scope(None, ctx.defaults, "list"))


def _strategies_json(custom: list[CustomStrategy]) -> str:
    return json.dumps([c.model_dump() for c in custom], ensure_ascii=False)


class Stores:
    """The ``stores`` table, the memories table of each store, and the embedders the stores are pinned to."""

    def __init__(self, db: Database, settings: Settings, envelope: Envelope, embedder: Embedder | None) -> None:
        self.db = db
        self.settings = settings
        self.envelope = envelope
        self._configured = embedder
        self._embedders: dict[str, Embedder] = {}
        self._lock = threading.RLock()  # guards the embedders

    # -- embedders ------------------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        """The configured embedder, used for new stores (created lazily; loading is lazier still)."""
        with self._lock:
            if self._configured is None:
                self._configured = make_embedder(self.settings.embedding_model, self.settings.model_cache_dir)
            self._embedders.setdefault(self._configured.name, self._configured)
            return self._configured

    @property
    def configured(self) -> Embedder | None:
        """The configured embedder if it was created already (health must not create it)."""
        with self._lock:
            return self._configured

    def register(self, emb: Embedder) -> None:
        with self._lock:
            self._embedders[emb.name] = emb

    def embedder_for(self, store: MemoryStore) -> Embedder:
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

    # -- rows -----------------------------------------------------------------------------------

    def store_row(self, name: str) -> dict[str, Any] | None:
        rows = self.db.cached_rows(self.db.stores(), f"name = {sql_string(name, 'store')}")
        return rows[0] if rows else None

    def store(self, name: str) -> MemoryStore:
        row = self.store_row(name)
        if row is None:
            names = [r["name"] for r in self.db.rows(self.db.stores(), None, ["name"])]
            raise StoreNotFoundError(
                f"Memory store {name!r} does not exist. Existing stores: {sorted(names)}. "
                "Create it with create_memory_store, or omit `store` to use 'default'.",
                field="store",
            )
        return store_model(row)

    def table_of(self, name: str) -> tuple[MemoryStore, Any, str]:
        """A store, its memories table and that table's name (raises the helpful error for an unknown store)."""
        row = self.store_row(name)
        if row is None:
            self.store(name)  # raises the helpful error
        store = store_model(row)  # type: ignore[arg-type]
        return store, self.db.memories(row["table_name"], int(row["embedding_dim"])), row["table_name"]

    def insert_store(
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
            "custom_strategies": _strategies_json(custom),
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
        return store_model(row)

    def ensure_default(self) -> None:
        if self.store_row(DEFAULT_STORE) is None:
            self.insert_store(DEFAULT_STORE, "The default memory store.", ["fact", "preference"], [], 30, self.embedder)

    # -- operations -----------------------------------------------------------------------------

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
        with self.envelope.operation("CreateMemoryStore", ctx, name):
            check_store_name(name)
            custom = parse_custom(custom_strategies)
            chosen = strategies(extraction_strategies, custom)
            check_ttl(short_term_ttl)
            if self.store_row(name) is not None:
                raise AlreadyExistsError(
                    f"Memory store {name!r} already exists. Use it as it is, update it with "
                    "update_memory_store, or pick another name.",
                    field="name",
                )
            return self.insert_store(name, description, chosen, custom, short_term_ttl, self.embedder)

    def get_store(self, name: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> MemoryStore:
        with self.envelope.operation("GetMemoryStore", ctx, name):
            store, table, _ = self.table_of(name)
            where = " AND ".join(["status = 'active'", *filter(None, [tenant_where(ctx)])])
            return store.model_copy(update={"memory_count": self.db.count(table, where)})

    def list_stores(self, *, ctx: CallContext | None = None) -> StoreList:
        with self.envelope.operation("ListMemoryStores", ctx):
            rows = self.db.rows(self.db.stores(), None, order_by=[("created_at", "ascending")])
            return StoreList(stores=[store_model(r) for r in rows])

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
        with self.envelope.operation("UpdateMemoryStore", ctx, name):
            current = self.store(name)
            values: dict[str, Any] = {}
            if description is not None:
                values["description"] = description
            custom = current.custom_strategies
            if custom_strategies is not None:
                custom = parse_custom(custom_strategies)
                values["custom_strategies"] = _strategies_json(custom)
            if extraction_strategies is not None or custom_strategies is not None:
                chosen = strategies(extraction_strategies or current.extraction_strategies, custom)
                values["extraction_strategies"] = json.dumps(chosen)
            if short_term_ttl is not None:
                check_ttl(short_term_ttl)
                values["short_term_ttl"] = short_term_ttl
            if values:
                values["updated_at"] = now()
                self.db.update(self.db.stores(), f"name = {sql_string(name)}", values)
            return self.store(name)

    def delete_store(self, name: str, *, ctx: CallContext | None = None) -> Deleted:
        """Delete a store with all its memories and messages. The default store cannot be deleted."""
        with self.envelope.operation("DeleteMemoryStore", ctx, name):
            if name == DEFAULT_STORE:
                raise InvalidArgumentError(
                    "The 'default' store cannot be deleted; delete its memories one by one instead.", field="name"
                )
            _, table, table_name = self.table_of(name)
            count = self.db.count(table, None)
            self.db.delete(self.db.stores(), f"name = {sql_string(name)}")
            self.db.drop_table(table_name)
            self.db.delete(self.db.messages(), f"store = {sql_string(name)}")
            return Deleted(deleted=True, name=name, memories_deleted=count)

    def stats(self, store: str = DEFAULT_STORE, *, ctx: CallContext | None = None) -> Stats:
        """Counts of a store (for a token: of its own tenant)."""
        with self.envelope.operation("MemoryStats", ctx, store):
            st, table, _ = self.table_of(store)
            tenant = tenant_where(ctx)
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
                store=store,
                embedding_model=st.embedding_model,
                memories_active=by_status["active"],
                memories_superseded=by_status["superseded"],
                memories_deleted=by_status["deleted"],
                messages=messages,
                by_type=by_type,
            )
