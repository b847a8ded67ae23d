"""The 24 MCP tools: one module-level function per service operation, registered by ``register``;
``CORE`` are the ones a conversation lists by default (MEM_MCP_TOOLS=core).

Each tool reads the request's ``AppState`` from its typed Context, fills the caller's scope defaults
from the connection (``call_context``) and makes one call to the service. The docstring is the tool's
description and the parameter annotations are its input schema, so both are part of the wire contract.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal

from mcp.server.mcpserver import Context
from mcp_types import ToolAnnotations
from pydantic import Field

from ..models import (
    MAX_PROFILE_ATTRIBUTES,
    AttributeOperation,
    CustomStrategy,
    Deleted,
    ExportResult,
    ListOffset,
    Memory,
    MemoryHistory,
    MemoryListAnswer,
    MemoryStore,
    MessageLimit,
    MessageList,
    MinScore,
    OrderBy,
    PageLimit,
    ProfileAttributeInput,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    RequestLimit,
    RequestList,
    RequestStatus,
    SchemaDescription,
    SchemaName,
    SearchAnswer,
    SearchOffset,
    Stats,
    StoreList,
    TopK,
    TtlDays,
    UserProfile,
    WriteResult,
)
from .connection import call_context
from .params import DESTRUCTIVE, READ_ONLY, FilterArg, MemoryIdArg, MessagesArg, ProfileSchemaIdArg, ScopeArg, StoreArg
from .state import AppState

if TYPE_CHECKING:
    from mcp.server import MCPServer

Ctx = Context[AppState, Any]


# -- memories --------------------------------------------------------------------------------------


async def add_memories(
    ctx: Ctx,
    text: Annotated[
        str | None,
        Field(description="The memory: one self-contained sentence in the user's language, third person."),
    ] = None,
    messages: Annotated[
        MessagesArg,
        Field(description="Instead of text: recent turns; mem-mcp extracts and reconciles the memories."),
    ] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="Optional JSON object kept with it.")] = None,
    tags: Annotated[list[str] | None, Field(description="Optional labels, e.g. ['work'].")] = None,
    type: Annotated[str, Field(description="fact, preference, episodic, profile, tool or a custom type.")] = "fact",
    sync: Annotated[bool, Field(description="false: extract from messages in the background.")] = True,
    store: StoreArg = "default",
    scope: ScopeArg = None,
    profile_schema_id: Annotated[
        str | None,
        Field(description="With messages: also fill the user's profile of this schema."),
    ] = None,
    profile_schema: Annotated[str | None, Field(description="Same as profile_schema_id.")] = None,
) -> WriteResult:
    """Save something lasting about the user for future conversations.

    Call it, unasked, when the user shares a preference, plan, personal detail or decision, or says
    "remember ...". Pass `text`: one self-contained sentence in the user's own language, third person
    ("The user is vegetarian" / "用户是素食者"); or the recent `messages` instead (not both) to have
    mem-mcp extract the memories. If a fact changed, update_memory the one search_memories found rather
    than adding a second. Never save secrets or small talk. Answers ADD/UPDATE/DELETE/NONE events with
    memory ids. A `text` that changes a single-valued fact (home, employer, job, drink, relationship,
    phone...) UPDATEs the old memory itself; an ADD lists the most similar existing memories in
    `similar`: if one is an older version of the new fact, update_memory or delete_memory it.
    """
    state = ctx.request_context.lifespan_context
    return await state.service.add_memories(
        text=text,
        messages=messages,
        metadata=metadata,
        tags=tags,
        type=type,
        sync=sync,
        store=store,
        scope=scope,
        profile_schema_id=profile_schema_id,
        profile_schema=profile_schema,
        ctx=call_context(ctx, state),
    )


async def search_memories(
    ctx: Ctx,
    query: Annotated[str | None, Field(description="A short topic in any language, e.g. 'food preferences'.")] = None,
    translation: Annotated[
        str | None,
        Field(description="The query in the other language (English for Chinese, Chinese for English)."),
    ] = None,
    messages: Annotated[MessagesArg, Field(description="Instead of query: the recent turns.")] = None,
    top_k: Annotated[TopK, Field(description="How many results, 1-50.")] = 10,
    min_score: Annotated[
        MinScore | None,
        Field(description="Drop results scoring below this (0-1); default: the server's floor."),
    ] = None,
    types: Annotated[list[str] | None, Field(description="Only these types, e.g. ['preference'].")] = None,
    filter: FilterArg = None,
    order_by: Annotated[OrderBy, Field(description="relevance or a time order.")] = "relevance",
    offset: Annotated[SearchOffset, Field(description="Skip this many (paging).")] = 0,
    rerank: Annotated[bool, Field(description="Blend in keyword matches and recency.")] = True,
    include_superseded: Annotated[bool, Field(description="Also outdated versions.")] = False,
    detail: Annotated[
        Literal["compact", "full"], Field(description="full: every field of each memory, and groups by kind.")
    ] = "compact",
    store: StoreArg = "default",
    scope: ScopeArg = None,
) -> SearchAnswer:
    """Recall what is known about the user from all earlier conversations.

    Call it before answering anything personal or that depends on the user's history, preferences or
    plans ("my usual", "as I said", "我上次说的"), and at the start of a conversation. For a user who
    writes both Chinese and English, give `translation` too: memories in either language are found.
    Each hit has an id, text, type and score (0-1); to change or forget one, pass its id to
    update_memory or delete_memory. Hits are the closest memories, not always relevant ones: use only
    those that bear on the question.
    """
    state = ctx.request_context.lifespan_context
    found = await state.service.search_memories(
        query=query,
        messages=messages,
        top_k=top_k,
        min_score=min_score,
        types=types,
        filter=filter,
        order_by=order_by,
        offset=offset,
        rerank=rerank,
        include_superseded=include_superseded,
        store=store,
        scope=scope,
        translation=translation,
        ctx=call_context(ctx, state),
    )
    return SearchAnswer.of(found, detail)


async def list_memories(
    ctx: Ctx,
    filter: FilterArg = None,
    types: Annotated[list[str] | None, Field(description="Only these memory types.")] = None,
    order_by: Annotated[OrderBy, Field(description="Time order; newest first by default.")] = "created_at_desc",
    offset: Annotated[ListOffset, Field(description="Skip this many (paging).")] = 0,
    limit: Annotated[PageLimit, Field(description="Page size, 1-500.")] = 20,
    include_superseded: Annotated[bool, Field(description="Also list outdated versions.")] = False,
    detail: Annotated[Literal["compact", "full"], Field(description="full: every field of each memory.")] = "compact",
    store: StoreArg = "default",
    scope: ScopeArg = None,
) -> MemoryListAnswer:
    """List saved memories, newest first, with the total: for "what do you remember about me?". To find
    memories about a topic, use search_memories."""
    state = ctx.request_context.lifespan_context
    page = await state.service.list_memories(
        filter=filter,
        types=types,
        order_by=order_by,
        offset=offset,
        limit=limit,
        include_superseded=include_superseded,
        store=store,
        scope=scope,
        ctx=call_context(ctx, state),
    )
    return MemoryListAnswer.of(page, detail)


async def get_memory(ctx: Ctx, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None) -> Memory:
    """Read one memory by the id search_memories or list_memories gave, with all its fields."""
    state = ctx.request_context.lifespan_context
    return await state.service.get_memory(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))


async def update_memory(
    ctx: Ctx,
    memory_id: MemoryIdArg,
    text: Annotated[str | None, Field(description="The whole corrected memory, in the user's language.")] = None,
    metadata: Annotated[dict[str, Any] | None, Field(description="New metadata (replaces the old).")] = None,
    store: StoreArg = "default",
    scope: ScopeArg = None,
) -> WriteResult:
    """Correct a memory when the fact changed ("I moved to Berlin", "我现在只喝茶"): pass the id
    search_memories found. Works from any conversation; the old text stays in memory_history."""
    state = ctx.request_context.lifespan_context
    return await state.service.update_memory(
        memory_id, text=text, metadata=metadata, store=store, scope=scope, ctx=call_context(ctx, state)
    )


async def delete_memory(
    ctx: Ctx, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None
) -> WriteResult:
    """Forget a memory when the user asks ("forget my address", "忘掉我的地址") or it is wrong:
    search_memories for it, then pass its id. Its history stays readable."""
    state = ctx.request_context.lifespan_context
    return await state.service.delete_memory(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))


async def memory_history(
    ctx: Ctx, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None
) -> MemoryHistory:
    """How a memory changed: every version, oldest first, with ADD/UPDATE/DELETE."""
    state = ctx.request_context.lifespan_context
    return await state.service.memory_history(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))


async def list_messages(
    ctx: Ctx,
    limit: Annotated[MessageLimit, Field(description="How many messages, 1-1000.")] = 100,
    offset: Annotated[ListOffset, Field(description="Skip this many.")] = 0,
    store: StoreArg = "default",
    scope: ScopeArg = None,
) -> MessageList:
    """Read the raw messages (short-term memory) saved for one run/session, in order."""
    state = ctx.request_context.lifespan_context
    return await state.service.list_messages(
        limit=limit, offset=offset, store=store, scope=scope, ctx=call_context(ctx, state)
    )


async def list_requests(
    ctx: Ctx,
    operation: Annotated[str | None, Field(description="Only this operation, e.g. 'AddMemories'.")] = None,
    outcome: Annotated[
        str | None, Field(description="'ok', 'error', or an error code such as 'TOO_MANY_REQUESTS'.")
    ] = None,
    since: Annotated[datetime | None, Field(description="Only requests at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Field(description="Only requests before this time (ISO 8601).")] = None,
    token_id: Annotated[str | None, Field(description="Only requests made with this token id.")] = None,
    limit: Annotated[RequestLimit, Field(description="How many, 1-1000, newest first.")] = 50,
    store: Annotated[str | None, Field(description="Only this store.")] = None,
    scope: ScopeArg = None,
) -> RequestList:
    """Audit log: which operations ran, when, for whom (scope and token id), how long they took, and
    whether they failed. Admins may pass scope {"tenant_id": "*"} to see every tenant."""
    state = ctx.request_context.lifespan_context
    return await state.service.list_requests(
        operation=operation,
        outcome=outcome,
        since=since,
        until=until,
        token_id=token_id,
        limit=limit,
        store=store,
        scope=scope,
        ctx=call_context(ctx, state),
    )


async def export_memories(
    ctx: Ctx,
    include_history: Annotated[bool, Field(description="Also export superseded and deleted versions.")] = False,
    store: StoreArg = "default",
    scope: ScopeArg = None,
) -> ExportResult:
    """Export the user's memories as JSON Lines (one memory per line), e.g. when they ask for a copy
    of everything you remember. `mem-mcp import` reads the result back."""
    state = ctx.request_context.lifespan_context
    records = await state.service.export_memories(
        store=store, scope=scope, include_history=include_history, ctx=call_context(ctx, state)
    )
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return ExportResult(count=len(records), jsonl=jsonl)


async def memory_stats(ctx: Ctx, store: StoreArg = "default") -> Stats:
    """Count the memories of a store (active, superseded, deleted; by type) and its saved messages."""
    state = ctx.request_context.lifespan_context
    return await state.service.stats(store, ctx=call_context(ctx, state))


async def get_request(
    ctx: Ctx, request_id: Annotated[str, Field(description="The request_id add_memories returned.")]
) -> RequestStatus:
    """Check an add_memories call that extracts from messages: pending, running, done (with the ADD/UPDATE/
    DELETE/NONE events) or failed (with the reason; retry it with retry_request)."""
    state = ctx.request_context.lifespan_context
    return await state.service.get_request(request_id, ctx=call_context(ctx, state))


async def retry_request(
    ctx: Ctx,
    request_id: Annotated[str, Field(description="The request_id of a failed add_memories call.")],
    sync: Annotated[bool, Field(description="Wait for the result (true) or run in the background.")] = True,
) -> RequestStatus:
    """Run a failed memory extraction again from its saved messages (e.g. after the LLM was unreachable)."""
    state = ctx.request_context.lifespan_context
    return await state.service.retry_request(request_id, sync=sync, ctx=call_context(ctx, state))


# -- stores ----------------------------------------------------------------------------------------


async def create_memory_store(
    ctx: Ctx,
    name: Annotated[str, Field(description="Store name: letters (any script), digits, '-', '_', '.'.")],
    description: Annotated[str, Field(description="What the store is for.")] = "",
    extraction_strategies: Annotated[
        list[str] | None, Field(description="Built in: fact, preference, episodic, summary, profile, tool.")
    ] = None,
    custom_strategies: Annotated[list[CustomStrategy] | None, Field(description="Store-specific strategies.")] = None,
    short_term_ttl: Annotated[TtlDays, Field(description="Days to keep raw messages.")] = 30,
) -> MemoryStore:
    """Create a separate memory store (e.g. per project). Most users only need 'default'."""
    state = ctx.request_context.lifespan_context
    return await state.service.create_store(
        name, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=call_context(ctx, state)
    )


async def get_memory_store(ctx: Ctx, store: StoreArg = "default") -> MemoryStore:
    """Show a memory store's settings and how many memories it holds."""
    state = ctx.request_context.lifespan_context
    return await state.service.get_store(store, ctx=call_context(ctx, state))


async def list_memory_stores(ctx: Ctx) -> StoreList:
    """List the memory stores (containers of memories, e.g. one per project) with their settings."""
    state = ctx.request_context.lifespan_context
    return await state.service.list_stores(ctx=call_context(ctx, state))


async def update_memory_store(
    ctx: Ctx,
    store: Annotated[str, Field(description="The store to change.")],
    description: str | None = None,
    extraction_strategies: list[str] | None = None,
    custom_strategies: list[CustomStrategy] | None = None,
    short_term_ttl: Annotated[
        TtlDays | None, Field(description="Days to keep raw messages (omit to keep as is).")
    ] = None,
) -> MemoryStore:
    """Change a memory store's description, extraction strategies or short-term TTL."""
    state = ctx.request_context.lifespan_context
    return await state.service.update_store(
        store, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=call_context(ctx, state)
    )


async def delete_memory_store(ctx: Ctx, store: Annotated[str, Field(description="The store to delete.")]) -> Deleted:
    """Delete a memory store and everything in it. Only when the user explicitly asks; cannot be undone."""
    state = ctx.request_context.lifespan_context
    return await state.service.delete_store(store, ctx=call_context(ctx, state))


# -- profiles --------------------------------------------------------------------------------------


async def create_profile_schema(
    ctx: Ctx,
    name: Annotated[SchemaName, Field(description="Schema name, e.g. '用户基础画像'.")],
    attributes: Annotated[
        list[ProfileAttributeInput],
        Field(
            description='The attributes to extract, e.g. [{"name": "年龄", "description": "用户年龄"}, '
            '{"name": "居住地", "description": "用户目前居住的城市"}]. At least one; names unique, no '
            "near-synonyms.",
            max_length=MAX_PROFILE_ATTRIBUTES,
        ),
    ],
    description: Annotated[SchemaDescription, Field(description="What the profile is for.")] = "",
) -> ProfileSchema:
    """Define a user profile: the fixed attributes (age, occupation, hobbies, city, ...) to extract about
    each user from conversations. Call it once per app, keep the returned profile_schema_id, and pass it
    to add_memories. Clear, specific names and descriptions extract best; near-synonyms (姓名/名字,
    年龄/岁数) are refused because a value could land in either."""
    state = ctx.request_context.lifespan_context
    return await state.service.create_profile_schema(name, attributes, description, ctx=call_context(ctx, state))


async def list_profile_schemas(
    ctx: Ctx,
    offset: Annotated[ListOffset, Field(description="Skip this many (paging).")] = 0,
    limit: Annotated[PageLimit, Field(description="Page size, 1-500.")] = 50,
) -> ProfileSchemaList:
    """List the app's profile schemas (id, name, description, attribute count), e.g. to find the
    profile_schema_id for add_memories or get_user_profile."""
    state = ctx.request_context.lifespan_context
    return await state.service.list_profile_schemas(offset=offset, limit=limit, ctx=call_context(ctx, state))


async def get_profile_schema(ctx: Ctx, profile_schema_id: ProfileSchemaIdArg) -> ProfileSchema:
    """Show a profile schema with its attributes (attribute_id, name, description, default_value)."""
    state = ctx.request_context.lifespan_context
    return await state.service.get_profile_schema(profile_schema_id, ctx=call_context(ctx, state))


async def update_profile_schema(
    ctx: Ctx,
    profile_schema_id: ProfileSchemaIdArg,
    name: Annotated[SchemaName | None, Field(description="New schema name.")] = None,
    description: Annotated[SchemaDescription | None, Field(description="New schema description.")] = None,
    attribute_operations: Annotated[
        list[AttributeOperation] | None,
        Field(
            description='Changes, applied in order: {"op": "add", "name", "description", '
            '"default_value"}, {"op": "update", "attribute_id", ...fields to change}, '
            '{"op": "delete", "attribute_id"}.',
            max_length=MAX_PROFILE_ATTRIBUTES,
        ),
    ] = None,
) -> ProfileSchema:
    """Change a profile schema: rename it, or add, update or delete attributes by attribute_id (from
    get_profile_schema). Deleting an attribute also deletes every user's value for it."""
    state = ctx.request_context.lifespan_context
    return await state.service.update_profile_schema(
        profile_schema_id,
        name=name,
        description=description,
        attribute_operations=attribute_operations,
        ctx=call_context(ctx, state),
    )


async def delete_profile_schema(ctx: Ctx, profile_schema_id: ProfileSchemaIdArg) -> ProfileSchemaDeleted:
    """Delete a profile schema and every user's profile values for it. Only when explicitly asked."""
    state = ctx.request_context.lifespan_context
    return await state.service.delete_profile_schema(profile_schema_id, ctx=call_context(ctx, state))


async def get_user_profile(
    ctx: Ctx,
    profile_schema_id: Annotated[
        str | None, Field(description="The profile schema; omit when the app has one.")
    ] = None,
    tenant_id: Annotated[str | None, Field(description="Whose profile; omit for the current user.")] = None,
    include_history: Annotated[bool, Field(description="Also each attribute's earlier values.")] = False,
) -> UserProfile:
    """Read the user's profile: attributes such as age, job, city or hobbies, kept current from
    conversations. An attribute without a value is still unknown. Use it to personalise answers."""
    state = ctx.request_context.lifespan_context
    return await state.service.get_user_profile(
        profile_schema_id, tenant_id=tenant_id, include_history=include_history, ctx=call_context(ctx, state)
    )


#: The tools a conversation lists by default: remember, recall, correct, forget, and the profile read.
#: The others (stores, profile schemas, the request log and jobs, export, stats) are for operators:
#: MEM_MCP_TOOLS=all, or an admin token on HTTP.
CORE = frozenset(
    {
        "add_memories",
        "search_memories",
        "list_memories",
        "get_memory",
        "update_memory",
        "delete_memory",
        "memory_history",
        "get_user_profile",
    }
)

#: Every tool with its annotations, in the order tools/list shows them.
TOOLS: list[tuple[Callable[..., Any], ToolAnnotations | None]] = [
    (add_memories, None),
    (search_memories, READ_ONLY),
    (list_memories, READ_ONLY),
    (get_memory, READ_ONLY),
    (update_memory, None),
    (delete_memory, DESTRUCTIVE),
    (memory_history, READ_ONLY),
    (list_messages, READ_ONLY),
    (list_requests, READ_ONLY),
    (export_memories, READ_ONLY),
    (memory_stats, READ_ONLY),
    (get_request, READ_ONLY),
    (retry_request, None),
    (create_memory_store, None),
    (get_memory_store, READ_ONLY),
    (list_memory_stores, READ_ONLY),
    (update_memory_store, None),
    (delete_memory_store, DESTRUCTIVE),
    (create_profile_schema, None),
    (list_profile_schemas, READ_ONLY),
    (get_profile_schema, READ_ONLY),
    (update_profile_schema, None),
    (delete_profile_schema, DESTRUCTIVE),
    (get_user_profile, READ_ONLY),
]


def register(server: MCPServer[AppState]) -> None:
    """Add every tool to ``server``."""
    for fn, hints in TOOLS:
        server.add_tool(fn, annotations=hints)
