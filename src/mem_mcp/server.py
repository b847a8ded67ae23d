"""The MCP adapter: one tool per service operation, resources, and prompts over ``MemoryService``.

Nothing here touches LanceDB, fastembed or anthropic. Each tool fills the caller's scope defaults
from the connection (configured app and tenant, the client's name as agent_id, the session as
run_id) and hands off to the service. Errors come back with ``isError`` set, a typed code, and a
message that tells the model what to do next.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, AsyncIterator, Literal

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from . import __version__
from .config import Settings
from .errors import InvalidArgumentError, MemMcpError
from .models import (
    Memory,
    MemoryHistory,
    MemoryPage,
    MemoryStore,
    MessageInput,
    MessageList,
    OrderBy,
    RequestList,
    RequestStatus,
    ScopeInput,
    SearchResult,
    StoreList,
    WriteResult,
    CustomStrategy,
    Deleted,
)
from .scope import ScopeDefaults

if TYPE_CHECKING:
    # Imported on first use (see _Core): the service pulls in numpy, pyarrow and the extractors, about
    # 0.1 s that the answer to `initialize` should not wait for.
    from .service import AsyncMemoryService, CallContext, MemoryService

log = logging.getLogger(__name__)

INSTRUCTIONS = """\
mem-mcp is the user's long-term memory. It persists across conversations and sessions.
- At the start of a conversation, or whenever the user refers to something from before ("as I said",
  "my usual", "remember"), call search_memories with a short query about the topic. Searches cover all
  earlier conversations; they work across Chinese and English.
- When the user states a lasting fact, preference, plan, or personal detail, or asks you to remember
  something, call add_memories with `text`: one self-contained sentence in the user's language, in the
  third person ("The user is vegetarian" / "用户是素食者").
- When a remembered fact changes, call update_memory on it; when the user asks you to forget it, call
  delete_memory. Do not save secrets (passwords, keys) or small talk.
"""

StoreArg = Annotated[str, Field(description="Memory store name. Omit to use 'default'.")]
ScopeArg = Annotated[
    ScopeInput | None,
    Field(description="Whose memories: {app_id, tenant_id, agent_id, run_id}. Omit; the connection fills it."),
]
FilterArg = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "Optional conditions, e.g. {\"type\": \"preference\", \"created_at\": {\"$gte\": \"2026-01-01\"}}. "
            "Fields: created_at, updated_at, type, tags, agent_id, run_id, status, metadata.<key>. "
            "Operators: $eq $ne $gt $gte $lt $lte $in $nin $contains; combine with $and $or $not."
        )
    ),
]
MemoryIdArg = Annotated[str, Field(description="The memory's id, as returned by search_memories or list_memories.")]


class _Core:
    """The MemoryService behind the server, created on first use (a tool call or the warm-up)."""

    def __init__(self, settings: Settings, service: MemoryService | None = None) -> None:
        self._settings = settings
        self._service = service
        self._async: AsyncMemoryService | None = None
        self._lock = threading.Lock()

    def service(self) -> MemoryService:
        return self.async_service().sync

    def async_service(self) -> AsyncMemoryService:
        if self._async is None:
            with self._lock:
                if self._async is None:
                    from .service import AsyncMemoryService, MemoryService

                    self._async = AsyncMemoryService(self._service or MemoryService(self._settings))
        return self._async


@dataclass
class AppState:
    """What every request needs: the service and the settings it was built from."""

    core: _Core
    settings: Settings
    process_run_id: str

    @property
    def service(self) -> AsyncMemoryService:
        return self.core.async_service()


def _safe_segment(value: str | None, fallback: str) -> str:
    if not value:
        return fallback
    cleaned = re.sub(r"[\x00-\x1f\x7f*]", "", value).strip()[:128]
    return cleaned or fallback


def call_context(ctx: Context, state: AppState) -> CallContext:
    """Scope defaults of this connection: configured app/tenant, client name, session."""
    from .service import CallContext

    agent = "mcp-client"
    run = state.process_run_id
    try:
        session = ctx.request_context.session
        params = session.client_params
        if params is not None and params.client_info is not None:
            agent = _safe_segment(params.client_info.name, agent)
        connection = getattr(session, "_connection", None)
        if connection is not None:
            if connection.session_id:
                run = _safe_segment(connection.session_id, run)
            else:
                run = connection.state.setdefault("mem_mcp_run_id", run)
    except ValueError:  # no request context (called outside a request)
        pass
    defaults = ScopeDefaults(
        app_id=state.settings.default_app, tenant_id=state.settings.default_tenant, agent_id=agent, run_id=run
    )
    return CallContext(defaults=defaults, actor=agent)


def _state(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context  # type: ignore[no-any-return]


class MemoryMCPServer(MCPServer[AppState]):
    """MCPServer that turns our typed errors (and argument validation errors) into ``isError``
    results carrying ``{"error": {"code", "message", "field"}}`` as structured content."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, MemMcpError):
                return _error_result(cause)
            if isinstance(cause, ValidationError):
                return _error_result(_validation_error(cause))
            raise


def _validation_error(exc: ValidationError) -> InvalidArgumentError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return InvalidArgumentError(
        f"Argument `{loc}` is invalid: {err['msg']}. Fix that argument and call again.", field=loc
    )


def _error_result(exc: MemMcpError) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=f"{exc.code}: {exc.message}")],
        structured_content={"error": exc.to_dict()},
        is_error=True,
    )


def build_server(settings: Settings, service: MemoryService | None = None) -> MemoryMCPServer:
    """Build the MCP server. Nothing is opened or loaded here; the database opens on first use and
    the model loads in the background once the server is up."""
    core = _Core(settings, service)
    state = AppState(core=core, settings=settings, process_run_id=f"run-{uuid.uuid4().hex[:12]}")

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        # Warm up after `initialize` has had time to go out: loading the model and importing LanceDB
        # take about a second, and the client should not wait for them to list tools.
        timer = threading.Timer(0.5, _warm_up, args=(core,))
        timer.daemon = True
        timer.start()
        try:
            yield state
        finally:
            timer.cancel()

    mcp = MemoryMCPServer(
        "mem-mcp",
        title="mem-mcp long-term memory",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,
    )
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True)

    # -- memories -------------------------------------------------------------------------------

    @mcp.tool()
    async def add_memories(
        ctx: Context,
        text: Annotated[
            str | None,
            Field(description="A fact to remember, as one self-contained sentence in the user's language, third person."),
        ] = None,
        messages: Annotated[
            list[MessageInput] | None,
            Field(description="Conversation turns [{role, content}]: saved as this run's short-term memory, and "
                  "mem-mcp extracts the lasting memories from them."),
        ] = None,
        metadata: Annotated[dict[str, Any] | None, Field(description="Optional JSON object stored with the memory.")] = None,
        tags: Annotated[list[str] | None, Field(description="Optional labels, e.g. ['work'].")] = None,
        type: Annotated[
            str, Field(description="fact, preference, episodic, profile, tool, or a custom type.")
        ] = "fact",
        sync: Annotated[bool, Field(description="Process before answering (true) or in the background.")] = True,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> WriteResult:
        """Save something worth remembering about the user for future conversations.

        Call it when the user shares a lasting fact, preference, plan, reminder or personal detail, or says
        "remember ...". Either write `text` as one self-contained sentence in the user's language ("The user is
        allergic to peanuts" / "用户对花生过敏"), or pass the recent `messages` and let mem-mcp extract the
        memories and reconcile them with what it knows (a changed fact UPDATEs the old memory, "forget my
        address" DELETEs it). Saying the same thing twice is harmless (event NONE). Returns the events:
        ADD, UPDATE (with old_text), DELETE or NONE, each with the memory id.
        """
        state = _state(ctx)
        return await state.service.add_memories(
            text=text, messages=messages, metadata=metadata, tags=tags, type=type, sync=sync,
            store=store, scope=scope, ctx=call_context(ctx, state),
        )

    @mcp.tool(annotations=read_only)
    async def search_memories(
        ctx: Context,
        query: Annotated[str | None, Field(description="What to look for, in any language, e.g. 'food preferences'.")] = None,
        messages: Annotated[
            list[MessageInput] | None,
            Field(description="Alternatively the recent conversation; the last user turn weighs most."),
        ] = None,
        top_k: Annotated[int, Field(description="How many results, 1-50.", ge=1, le=50)] = 10,
        min_score: Annotated[float, Field(description="Drop results scoring below this relevance (0-1). Default 0 keeps the top_k best.", ge=0, le=1)] = 0.0,
        types: Annotated[list[str] | None, Field(description="Only these memory types, e.g. ['preference'].")] = None,
        filter: FilterArg = None,
        order_by: Annotated[OrderBy, Field(description="relevance (default) or a time order.")] = "relevance",
        offset: Annotated[int, Field(description="Skip this many results (paging).", ge=0)] = 0,
        rerank: Annotated[bool, Field(description="Blend keyword matches and recency into the ranking.")] = True,
        include_superseded: Annotated[bool, Field(description="Also return outdated versions.")] = False,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> SearchResult:
        """Recall what is known about the user: their facts, preferences and past context.

        Call it at the start of a conversation and whenever the user mentions something personal or from
        earlier ("my usual order", "the project I told you about", "我上次说的"). Searches all earlier
        conversations by meaning and keywords, across Chinese and English. Results have a score in [0, 1].
        """
        state = _state(ctx)
        return await state.service.search_memories(
            query=query, messages=messages, top_k=top_k, min_score=min_score, types=types, filter=filter,
            order_by=order_by, offset=offset, rerank=rerank, include_superseded=include_superseded,
            store=store, scope=scope, ctx=call_context(ctx, state),
        )

    @mcp.tool(annotations=read_only)
    async def list_memories(
        ctx: Context,
        filter: FilterArg = None,
        types: Annotated[list[str] | None, Field(description="Only these memory types.")] = None,
        order_by: Annotated[OrderBy, Field(description="Time order; newest first by default.")] = "created_at_desc",
        offset: Annotated[int, Field(description="Skip this many (paging).", ge=0)] = 0,
        limit: Annotated[int, Field(description="Page size, 1-500.", ge=1, le=500)] = 20,
        include_superseded: Annotated[bool, Field(description="Also list outdated versions.")] = False,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> MemoryPage:
        """List stored memories page by page, newest first, with the total count.

        Use it when the user asks what you remember about them, or to review memories; use search_memories
        to find memories about a topic.
        """
        state = _state(ctx)
        return await state.service.list_memories(
            filter=filter, types=types, order_by=order_by, offset=offset, limit=limit,
            include_superseded=include_superseded, store=store, scope=scope, ctx=call_context(ctx, state),
        )

    @mcp.tool(annotations=read_only)
    async def get_memory(ctx: Context, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None) -> Memory:
        """Read one memory by id (needs the memory's full scope; search results show it)."""
        state = _state(ctx)
        return await state.service.get_memory(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))

    @mcp.tool()
    async def update_memory(
        ctx: Context,
        memory_id: MemoryIdArg,
        text: Annotated[str | None, Field(description="The corrected memory text.")] = None,
        metadata: Annotated[dict[str, Any] | None, Field(description="New metadata (replaces the old).")] = None,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> WriteResult:
        """Correct a memory when a fact changed ("I moved to Berlin", "我现在只喝茶").

        Pass the memory's id and its full scope as search_memories returned them. The old text stays in
        memory_history; searches return only the new text.
        """
        state = _state(ctx)
        return await state.service.update_memory(
            memory_id, text=text, metadata=metadata, store=store, scope=scope, ctx=call_context(ctx, state)
        )

    @mcp.tool(annotations=ToolAnnotations(destructive_hint=True))
    async def delete_memory(ctx: Context, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None) -> WriteResult:
        """Forget a memory when the user asks you to ("forget my address", "忘掉我的地址") or it is wrong.

        Pass the memory's id and full scope as search_memories returned them. It leaves search and list;
        its history stays readable through memory_history.
        """
        state = _state(ctx)
        return await state.service.delete_memory(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def memory_history(ctx: Context, memory_id: MemoryIdArg, store: StoreArg = "default", scope: ScopeArg = None) -> MemoryHistory:
        """Show how a memory changed over time: every version, oldest first, with ADD/UPDATE/DELETE events."""
        state = _state(ctx)
        return await state.service.memory_history(memory_id, store=store, scope=scope, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def list_messages(
        ctx: Context,
        limit: Annotated[int, Field(description="How many messages, 1-1000.", ge=1, le=1000)] = 100,
        offset: Annotated[int, Field(description="Skip this many.", ge=0)] = 0,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> MessageList:
        """Read the raw messages (short-term memory) saved for one run/session, in order."""
        state = _state(ctx)
        return await state.service.list_messages(limit=limit, offset=offset, store=store, scope=scope, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def list_requests(
        ctx: Context,
        operation: Annotated[str | None, Field(description="Only this operation, e.g. 'AddMemories'.")] = None,
        limit: Annotated[int, Field(description="How many, 1-1000, newest first.", ge=1, le=1000)] = 50,
        store: Annotated[str | None, Field(description="Only this store.")] = None,
        scope: ScopeArg = None,
    ) -> RequestList:
        """Audit log: which operations ran, when, for whom, how long they took, and whether they failed."""
        state = _state(ctx)
        return await state.service.list_requests(
            operation=operation, limit=limit, store=store, scope=scope, ctx=call_context(ctx, state)
        )

    @mcp.tool(annotations=read_only)
    async def get_request(
        ctx: Context, request_id: Annotated[str, Field(description="The request_id add_memories returned.")]
    ) -> RequestStatus:
        """Check an add_memories call that extracts from messages: pending, running, done (with the ADD/UPDATE/
        DELETE/NONE events) or failed (with the reason; retry it with retry_request)."""
        state = _state(ctx)
        return await state.service.get_request(request_id, ctx=call_context(ctx, state))

    @mcp.tool()
    async def retry_request(
        ctx: Context,
        request_id: Annotated[str, Field(description="The request_id of a failed add_memories call.")],
        sync: Annotated[bool, Field(description="Wait for the result (true) or run in the background.")] = True,
    ) -> RequestStatus:
        """Run a failed memory extraction again from its saved messages (e.g. after the LLM was unreachable)."""
        state = _state(ctx)
        return await state.service.retry_request(request_id, sync=sync, ctx=call_context(ctx, state))

    # -- stores ---------------------------------------------------------------------------------

    @mcp.tool()
    async def create_memory_store(
        ctx: Context,
        name: Annotated[str, Field(description="Store name: letters (any script), digits, '-', '_', '.'.")],
        description: Annotated[str, Field(description="What the store is for.")] = "",
        extraction_strategies: Annotated[
            list[str] | None, Field(description="Built in: fact, preference, episodic, summary, profile, tool.")
        ] = None,
        custom_strategies: Annotated[list[CustomStrategy] | None, Field(description="Store-specific strategies.")] = None,
        short_term_ttl: Annotated[int, Field(description="Days to keep raw messages.", ge=1, le=3650)] = 30,
    ) -> MemoryStore:
        """Create a separate memory store (e.g. per project). Most users only need 'default'."""
        state = _state(ctx)
        return await state.service.create_store(
            name, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=call_context(ctx, state)
        )

    @mcp.tool(annotations=read_only)
    async def get_memory_store(ctx: Context, store: StoreArg = "default") -> MemoryStore:
        """Show a memory store's settings and how many memories it holds."""
        state = _state(ctx)
        return await state.service.get_store(store, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def list_memory_stores(ctx: Context) -> StoreList:
        """List the memory stores (containers of memories, e.g. one per project) with their settings."""
        state = _state(ctx)
        return await state.service.list_stores(ctx=call_context(ctx, state))

    @mcp.tool()
    async def update_memory_store(
        ctx: Context,
        store: Annotated[str, Field(description="The store to change.")],
        description: str | None = None,
        extraction_strategies: list[str] | None = None,
        custom_strategies: list[CustomStrategy] | None = None,
        short_term_ttl: Annotated[int | None, Field(ge=1, le=3650)] = None,
    ) -> MemoryStore:
        """Change a memory store's description, extraction strategies or short-term TTL."""
        state = _state(ctx)
        return await state.service.update_store(
            store, description, extraction_strategies, custom_strategies, short_term_ttl, ctx=call_context(ctx, state)
        )

    @mcp.tool(annotations=ToolAnnotations(destructive_hint=True))
    async def delete_memory_store(ctx: Context, store: Annotated[str, Field(description="The store to delete.")]) -> Deleted:
        """Delete a memory store and everything in it. Only when the user explicitly asks; cannot be undone."""
        state = _state(ctx)
        return await state.service.delete_store(store, ctx=call_context(ctx, state))

    # -- resources ------------------------------------------------------------------------------

    @mcp.resource("memory://stores", mime_type="application/json", description="All memory stores.")
    async def stores_resource() -> str:
        return (await state.service.list_stores()).model_dump_json()

    @mcp.resource("memory://stores/{store}", mime_type="application/json", description="One memory store.")
    async def store_resource(store: str) -> str:
        return (await state.service.get_store(store)).model_dump_json()

    @mcp.resource(
        "memory://stores/{store}/memories/{memory_id}", mime_type="application/json",
        description="One memory of the default app and tenant (any agent or run).",
    )
    async def memory_resource(store: str, memory_id: str) -> str:
        return (await state.service.lookup_memory(memory_id, store=store)).model_dump_json()

    @mcp.resource(
        "memory://recent", mime_type="application/json",
        description="The 20 most recent memories of the default app and tenant, across agents and runs.",
    )
    async def recent_resource() -> str:
        return (await state.service.list_memories(limit=20)).model_dump_json()

    # -- prompts --------------------------------------------------------------------------------

    @mcp.prompt(
        name="recall_user_context",
        description="Recall what is known about the user on a topic, to use in the answer.",
    )
    async def recall_user_context(topic: str, ctx: Context) -> str:
        # No score floor: calibrated scores vary by model and language, and the prompt is read by a model that
        # can ignore what does not fit; missing a memory is worse than showing a weak one.
        result = await state.service.search_memories(query=topic, top_k=8, ctx=call_context(ctx, state))
        if not result.results:
            return (
                f"I have no saved memories about {topic!r} yet. Answer normally, and if the user shares "
                "something lasting about it, save it with add_memories."
            )
        lines = "\n".join(f"- [{h.memory.type}] {h.memory.text}" for h in result.results)
        return (
            f"Here is what I remember about the user related to {topic!r} (from earlier conversations):\n"
            f"{lines}\n\nUse what is relevant; if something is outdated, correct it with update_memory."
        )

    @mcp.prompt(
        name="save_conversation",
        description="Ask the assistant to save what is worth remembering from this conversation.",
    )
    async def save_conversation() -> str:
        return (
            "Review our conversation so far and save what is worth remembering about me for future "
            "conversations: lasting facts, preferences, plans and reminders, and lessons about tools. Call "
            "add_memories once with `messages` set to the conversation turns (role and content, in order), "
            "or, if you cannot pass the turns, call add_memories with `text` once per fact: one self-contained "
            "sentence each, in the language I used, in the third person. Skip small talk and anything secret "
            "(passwords, keys). Then tell me briefly what you saved."
        )

    return mcp


def _warm_up(core: _Core) -> None:
    try:
        core.service().warm_up()
    except MemMcpError as exc:
        log.warning("warm-up: %s", exc)
    except Exception:  # warm-up is an optimisation; the first real call reports any error properly
        log.exception("warm-up failed")


def run(settings: Settings, transport: Literal["stdio", "sse", "streamable-http"] = "stdio", **kwargs: Any) -> None:
    """Serve over stdio (HTTP transports arrive with authentication)."""
    server = build_server(settings)
    if transport != "stdio":
        raise InvalidArgumentError(
            f"Transport {transport!r} is not available yet; use --transport stdio.", field="transport"
        )
    server.run("stdio")
