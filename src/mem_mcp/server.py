"""The MCP adapter: one tool per service operation, resources, and prompts over ``MemoryService``,
served over stdio or HTTP (streamable HTTP or SSE, with bearer tokens and rate limits).

Nothing here touches LanceDB, fastembed or anthropic. Each tool fills the caller's scope defaults
from the connection (configured app and tenant, or those its token is bound to; the client's name
as agent_id; the session as run_id) and hands off to the service. Errors come back with ``isError``
set, a typed code, and a message that tells the model what to do next.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import threading
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, AsyncIterator, Awaitable, Literal, TypeVar

from mcp.server import MCPServer
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from . import __version__
from .auth import LimitKind, RateLimiter, RateLimits, TokenRecord, TokenStore
from .config import Settings
from .errors import InvalidArgumentError, MemMcpError, RateLimitedError
from .extraction import Extractor, sampling
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
    ExportResult,
    Stats,
)
from .models import (
    AttributeOperation,
    ProfileAttributeInput,
    ProfileSchema,
    ProfileSchemaDeleted,
    ProfileSchemaList,
    UserProfile,
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
ProfileSchemaIdArg = Annotated[
    str, Field(description="The profile_schema_id create_profile_schema returned (list_profile_schemas shows them).")
]


T = TypeVar("T")
_TOKEN_CLAIM = "mem_mcp_token"
#: Tools that count against the per-token add and search limits (everything counts against the total).
_LIMIT_KINDS: dict[str, LimitKind] = {"add_memories": "add", "retry_request": "add", "search_memories": "search"}


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
    """What every request needs: the service, the settings it was built from, and on HTTP the
    rate limiter."""

    core: _Core
    settings: Settings
    process_run_id: str
    limiter: RateLimiter | None = None
    warmed: bool = field(default=False)

    @property
    def service(self) -> AsyncMemoryService:
        return self.core.async_service()


class TokenVerifier:
    """The SDK's token-verification hook over our token file: a valid token becomes an AccessToken
    whose client_id is the token's id and which carries the record (app, tenant, role, limits)."""

    def __init__(self, tokens: TokenStore) -> None:
        self.tokens = tokens

    async def verify_token(self, token: str) -> AccessToken | None:
        rec = self.tokens.verify(token)
        if rec is None:
            return None
        return AccessToken(token=token, client_id=rec.id, scopes=[rec.role], claims={_TOKEN_CLAIM: rec})


def _token_record() -> TokenRecord | None:
    """The token of the HTTP request being served; None on stdio and on HTTP without auth."""
    access = get_access_token()
    if access is None or not access.claims:
        return None
    rec = access.claims.get(_TOKEN_CLAIM)
    return rec if isinstance(rec, TokenRecord) else None


def _safe_segment(value: str | None, fallback: str) -> str:
    if not value:
        return fallback
    cleaned = re.sub(r"[\x00-\x1f\x7f*]", "", value).strip()[:128]
    return cleaned or fallback


def call_context(ctx: Context | None, state: AppState) -> CallContext:
    """Scope defaults of this connection: configured app/tenant (or the token's), client name, session.
    ``ctx`` None (static resources, which cannot take one) keeps the generic agent and run."""
    from .service import CallContext

    agent = "mcp-client"
    run = state.process_run_id
    try:
        if ctx is None:
            raise ValueError("no request context")
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
    extractor = _sampling_extractor(ctx, state, agent)
    rec = _token_record()
    if rec is not None:
        # HTTP with a token: app and tenant are the token's, whatever the request says.
        defaults = replace(rec.defaults(), agent_id=agent, run_id=run)
        return CallContext(defaults=defaults, actor=agent, role=rec.role, token_id=rec.id, extractor=extractor)
    defaults = ScopeDefaults(
        app_id=state.settings.default_app, tenant_id=state.settings.default_tenant, agent_id=agent, run_id=run
    )
    return CallContext(defaults=defaults, actor=agent, extractor=extractor)


def _sampling_extractor(ctx: Context | None, state: AppState, client: str) -> Extractor | None:
    """With MEM_MCP_EXTRACTOR=sampling, the extractor that asks this connection's client model."""
    if state.settings.extractor != "sampling" or ctx is None:
        return None
    try:
        return sampling.for_request(
            ctx, lambda: state.service.sync.extractor, state.settings.sampling_timeout_s, client
        )
    except (ValueError, RuntimeError):  # outside a request, or no running loop
        return None


def _state(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context  # type: ignore[no-any-return]


class MemoryMCPServer(MCPServer[AppState]):
    """MCPServer that turns our typed errors (and argument validation errors) into ``isError``
    results carrying ``{"error": {"code", "message", "field"}}`` as structured content."""

    limiter: RateLimiter | None = None
    on_refused: Any = None  # callable(operation, exc) that writes a refused call to the request log

    def _check_rate(self, operation: str, kind: LimitKind | None) -> None:
        rec = _token_record()
        if self.limiter is None or rec is None:
            return
        try:
            self.limiter.check(rec.id, rec.rate_limits, kind)
        except RateLimitedError as exc:
            if self.on_refused is not None:
                self.on_refused(operation, rec, exc)
            raise

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            self._check_rate(_operation(name), _LIMIT_KINDS.get(name))
        except RateLimitedError as exc:
            return _error_result(exc)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, MemMcpError):
                return _error_result(cause)
            if isinstance(cause, ValidationError):
                return _error_result(_validation_error(cause))
            raise


    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        try:
            self._check_rate("ReadResource", None)
        except RateLimitedError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from exc
        return await super().read_resource(uri, context)

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        self._check_rate("GetPrompt", None)  # MemMcpError → the prompt call fails with its message
        return await super().get_prompt(name, arguments, context)


def _operation(tool: str) -> str:
    """The request log's name of a tool: add_memories → AddMemories."""
    return "".join(part.capitalize() for part in tool.split("_"))


async def _resource(call: Awaitable[T]) -> T:
    """Resource reads fail with the typed code and message, as tool calls do."""
    try:
        return await call
    except MemMcpError as exc:
        raise ResourceError(f"{exc.code}: {exc.message}") from exc


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


def build_server(
    settings: Settings, service: MemoryService | None = None, *, tokens: TokenStore | None = None
) -> MemoryMCPServer:
    """Build the MCP server. Nothing is opened or loaded here; the database opens on first use and
    the model loads in the background once the server is up.

    With ``tokens`` (HTTP hosting) every request needs a bearer token from that file; the token binds
    the caller's app, tenant and role, and per-token rate limits apply.
    """
    core = _Core(settings, service)
    state = AppState(core=core, settings=settings, process_run_id=f"run-{uuid.uuid4().hex[:12]}")

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        # Entered once on stdio and streamable HTTP, once per connection on SSE: warm up once.
        # Warm up after `initialize` has had time to go out: loading the model and importing LanceDB
        # take about a second, and the client should not wait for them to list tools.
        timer = None
        if not state.warmed:
            state.warmed = True
            timer = threading.Timer(0.5, _warm_up, args=(core,))
            timer.daemon = True
            timer.start()
        try:
            yield state
        finally:
            if timer is not None:
                timer.cancel()

    auth_kwargs: dict[str, Any] = {}
    if tokens is not None:
        auth_kwargs = {
            "token_verifier": TokenVerifier(tokens),
            # Static bearer tokens, no OAuth server: no discovery metadata is published.
            "auth": AuthSettings(issuer_url=f"http://{settings.host}:{settings.port}", resource_server_url=None),
        }
    mcp = MemoryMCPServer(
        "mem-mcp",
        title="mem-mcp long-term memory",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,
        **auth_kwargs,
    )
    if tokens is not None:
        mcp.limiter = RateLimiter(
            RateLimits(
                per_minute=settings.rate_limit_per_minute,
                add_per_minute=settings.rate_limit_add_per_minute,
                search_per_minute=settings.rate_limit_search_per_minute,
            )
        )
        def on_refused(operation: str, rec: TokenRecord, exc: MemMcpError) -> None:
            from .service import CallContext

            ctx = CallContext(defaults=rec.defaults(), role=rec.role, token_id=rec.id)
            core.service().record_refusal(operation, ctx, exc)

        mcp.on_refused = on_refused

    @mcp.custom_route("/healthz", methods=["GET"])
    async def healthz(_request: Any) -> Any:
        """Liveness and store availability for load balancers (no token needed, no tenant data)."""
        from starlette.responses import JSONResponse

        health = await state.service.health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)
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
        profile_schema_id: Annotated[
            str | None,
            Field(description="With `messages`: also fill the user's profile for this schema (see get_user_profile)."),
        ] = None,
        profile_schema: Annotated[str | None, Field(description="Same as profile_schema_id (seed 001's name).")] = None,
    ) -> WriteResult:
        """Save something worth remembering about the user for future conversations.

        Call it when the user shares a lasting fact, preference, plan, reminder or personal detail, or says
        "remember ...". Either write `text` as one self-contained sentence in the user's language ("The user is
        allergic to peanuts" / "用户对花生过敏"), or pass the recent `messages` and let mem-mcp extract the
        memories and reconcile them with what it knows (a changed fact UPDATEs the old memory, "forget my
        address" DELETEs it). Saying the same thing twice is harmless (event NONE). Returns the events:
        ADD, UPDATE (with old_text), DELETE or NONE, each with the memory id; with `profile_schema_id`, also
        the profile attributes it filled or changed.
        """
        state = _state(ctx)
        return await state.service.add_memories(
            text=text, messages=messages, metadata=metadata, tags=tags, type=type, sync=sync,
            store=store, scope=scope, profile_schema_id=profile_schema_id, profile_schema=profile_schema,
            ctx=call_context(ctx, state),
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
        outcome: Annotated[
            str | None, Field(description="'ok', 'error', or an error code such as 'TOO_MANY_REQUESTS'.")
        ] = None,
        since: Annotated[datetime | None, Field(description="Only requests at or after this time (ISO 8601).")] = None,
        until: Annotated[datetime | None, Field(description="Only requests before this time (ISO 8601).")] = None,
        token_id: Annotated[str | None, Field(description="Only requests made with this token id.")] = None,
        limit: Annotated[int, Field(description="How many, 1-1000, newest first.", ge=1, le=1000)] = 50,
        store: Annotated[str | None, Field(description="Only this store.")] = None,
        scope: ScopeArg = None,
    ) -> RequestList:
        """Audit log: which operations ran, when, for whom (scope and token id), how long they took, and
        whether they failed. Admins may pass scope {"tenant_id": "*"} to see every tenant."""
        state = _state(ctx)
        return await state.service.list_requests(
            operation=operation, outcome=outcome, since=since, until=until, token_id=token_id, limit=limit,
            store=store, scope=scope, ctx=call_context(ctx, state),
        )

    @mcp.tool(annotations=read_only)
    async def export_memories(
        ctx: Context,
        include_history: Annotated[bool, Field(description="Also export superseded and deleted versions.")] = False,
        store: StoreArg = "default",
        scope: ScopeArg = None,
    ) -> ExportResult:
        """Export the user's memories as JSON Lines (one memory per line), e.g. when they ask for a copy
        of everything you remember. `mem-mcp import` reads the result back."""
        state = _state(ctx)
        records = await state.service.export_memories(
            store=store, scope=scope, include_history=include_history, ctx=call_context(ctx, state)
        )
        jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return ExportResult(count=len(records), jsonl=jsonl)

    @mcp.tool(annotations=read_only)
    async def memory_stats(ctx: Context, store: StoreArg = "default") -> Stats:
        """Count the memories of a store (active, superseded, deleted; by type) and its saved messages."""
        state = _state(ctx)
        return await state.service.stats(store, ctx=call_context(ctx, state))

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

    # -- profiles -------------------------------------------------------------------------------

    @mcp.tool()
    async def create_profile_schema(
        ctx: Context,
        name: Annotated[str, Field(description="Schema name, e.g. '用户基础画像'.", min_length=1, max_length=128)],
        attributes: Annotated[
            list[ProfileAttributeInput],
            Field(description="The attributes to extract, e.g. [{\"name\": \"年龄\", \"description\": \"用户年龄\"}, "
                  "{\"name\": \"居住地\", \"description\": \"用户目前居住的城市\"}]. At least one; names unique, no "
                  "near-synonyms.", max_length=100),
        ],
        description: Annotated[str, Field(description="What the profile is for.", max_length=2000)] = "",
    ) -> ProfileSchema:
        """Define a user profile: the fixed attributes (age, occupation, hobbies, city, ...) to extract about
        each user from conversations. Call it once per app, keep the returned profile_schema_id, and pass it
        to add_memories. Clear, specific names and descriptions extract best; near-synonyms (姓名/名字,
        年龄/岁数) are refused because a value could land in either."""
        state = _state(ctx)
        return await state.service.create_profile_schema(
            name, attributes, description, ctx=call_context(ctx, state)
        )

    @mcp.tool(annotations=read_only)
    async def list_profile_schemas(
        ctx: Context,
        offset: Annotated[int, Field(description="Skip this many (paging).", ge=0)] = 0,
        limit: Annotated[int, Field(description="Page size, 1-500.", ge=1, le=500)] = 50,
    ) -> ProfileSchemaList:
        """List the app's profile schemas (id, name, description, attribute count), e.g. to find the
        profile_schema_id for add_memories or get_user_profile."""
        state = _state(ctx)
        return await state.service.list_profile_schemas(offset=offset, limit=limit, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def get_profile_schema(ctx: Context, profile_schema_id: ProfileSchemaIdArg) -> ProfileSchema:
        """Show a profile schema with its attributes (attribute_id, name, description, default_value)."""
        state = _state(ctx)
        return await state.service.get_profile_schema(profile_schema_id, ctx=call_context(ctx, state))

    @mcp.tool()
    async def update_profile_schema(
        ctx: Context,
        profile_schema_id: ProfileSchemaIdArg,
        name: Annotated[str | None, Field(description="New schema name.", max_length=128)] = None,
        description: Annotated[str | None, Field(description="New schema description.", max_length=2000)] = None,
        attribute_operations: Annotated[
            list[AttributeOperation] | None,
            Field(description="Changes, applied in order: {\"op\": \"add\", \"name\", \"description\", "
                  "\"default_value\"}, {\"op\": \"update\", \"attribute_id\", ...fields to change}, "
                  "{\"op\": \"delete\", \"attribute_id\"}.", max_length=100),
        ] = None,
    ) -> ProfileSchema:
        """Change a profile schema: rename it, or add, update or delete attributes by attribute_id (from
        get_profile_schema). Deleting an attribute also deletes every user's value for it."""
        state = _state(ctx)
        return await state.service.update_profile_schema(
            profile_schema_id, name=name, description=description, attribute_operations=attribute_operations,
            ctx=call_context(ctx, state),
        )

    @mcp.tool(annotations=ToolAnnotations(destructive_hint=True))
    async def delete_profile_schema(ctx: Context, profile_schema_id: ProfileSchemaIdArg) -> ProfileSchemaDeleted:
        """Delete a profile schema and every user's profile values for it. Only when explicitly asked."""
        state = _state(ctx)
        return await state.service.delete_profile_schema(profile_schema_id, ctx=call_context(ctx, state))

    @mcp.tool(annotations=read_only)
    async def get_user_profile(
        ctx: Context,
        profile_schema_id: ProfileSchemaIdArg,
        tenant_id: Annotated[str | None, Field(description="Whose profile; omit for the current user.")] = None,
        include_history: Annotated[bool, Field(description="Also return each attribute's earlier values.")] = False,
    ) -> UserProfile:
        """Read what is known about the user as structured attributes (age, occupation, city, hobbies, ...).
        An attribute without `value` is still unknown (its default_value, if any, is shown beside it). Call
        it at the start of a conversation to personalise answers; values come from add_memories with
        profile_schema_id."""
        state = _state(ctx)
        return await state.service.get_user_profile(
            profile_schema_id, tenant_id=tenant_id, include_history=include_history, ctx=call_context(ctx, state)
        )

    # -- resources ------------------------------------------------------------------------------

    @mcp.resource("memory://stores", mime_type="application/json", description="All memory stores.")
    async def stores_resource() -> str:
        return (await _resource(state.service.list_stores(ctx=call_context(None, state)))).model_dump_json()

    @mcp.resource("memory://stores/{store}", mime_type="application/json", description="One memory store.")
    async def store_resource(store: str, ctx: Context) -> str:
        return (await _resource(state.service.get_store(store, ctx=call_context(ctx, state)))).model_dump_json()

    @mcp.resource(
        "memory://stores/{store}/memories/{memory_id}", mime_type="application/json",
        description="One memory of your app and tenant (any agent or run).",
    )
    async def memory_resource(store: str, memory_id: str, ctx: Context) -> str:
        call = state.service.lookup_memory(memory_id, store=store, ctx=call_context(ctx, state))
        return (await _resource(call)).model_dump_json()

    @mcp.resource(
        "memory://recent", mime_type="application/json",
        description="The 20 most recent memories of your app and tenant, across agents and runs.",
    )
    async def recent_resource() -> str:
        call = state.service.list_memories(limit=20, ctx=call_context(None, state))
        return (await _resource(call)).model_dump_json()

    @mcp.resource(
        "memory://profiles/{profile_schema_id}", mime_type="application/json",
        description="The current user's profile for a profile schema (attributes with their values).",
    )
    async def profile_resource(profile_schema_id: str, ctx: Context) -> str:
        call = state.service.get_user_profile(profile_schema_id, ctx=call_context(ctx, state))
        return (await _resource(call)).model_dump_json()

    @mcp.resource(
        "memory://profiles/{profile_schema_id}/{tenant_id}", mime_type="application/json",
        description="One user's (tenant's) profile for a profile schema.",
    )
    async def tenant_profile_resource(profile_schema_id: str, tenant_id: str, ctx: Context) -> str:
        call = state.service.get_user_profile(profile_schema_id, tenant_id=tenant_id, ctx=call_context(ctx, state))
        return (await _resource(call)).model_dump_json()

    # -- prompts --------------------------------------------------------------------------------

    @mcp.prompt(
        name="recall_user_context",
        description="Recall what is known about the user on a topic, to use in the answer.",
    )
    async def recall_user_context(topic: str, ctx: Context) -> str:
        # No score floor: calibrated scores vary by model and language, and the prompt is read by a model that
        # can ignore what does not fit; missing a memory is worse than showing a weak one.
        call = call_context(ctx, state)
        result = await state.service.search_memories(query=topic, top_k=8, ctx=call)
        profile = await _profile_lines(state.service, call)
        if not result.results and not profile:
            return (
                f"I have no saved memories about {topic!r} yet. Answer normally, and if the user shares "
                "something lasting about it, save it with add_memories."
            )
        parts = []
        if profile:
            parts.append("The user's profile:\n" + "\n".join(profile))
        if result.results:
            lines = "\n".join(f"- [{h.memory.type}] {h.memory.text}" for h in result.results)
            parts.append(f"What I remember about the user related to {topic!r} (from earlier conversations):\n{lines}")
        else:
            parts.append(f"I have no saved memories about {topic!r} yet.")
        return "\n\n".join(parts) + "\n\nUse what is relevant; if something is outdated, correct it with update_memory."

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


async def _profile_lines(service: AsyncMemoryService, call: CallContext, max_schemas: int = 5) -> list[str]:
    """The known attributes of the user's profiles ("- 年龄: 28岁"), one block per schema that has any."""
    schemas = await service.list_profile_schemas(limit=max_schemas, ctx=call)
    lines: list[str] = []
    for summary in schemas.profile_schemas:
        profile = await service.get_user_profile(summary.profile_schema_id, ctx=call)
        known = [a for a in profile.attributes if a.value is not None]
        if known:
            if len(schemas.profile_schemas) > 1:
                lines.append(f"[{profile.schema_name}]")
            lines.extend(f"- {a.name}: {a.value}" for a in known)
    return lines


def _warm_up(core: _Core) -> None:
    try:
        core.service().warm_up()
    except MemMcpError as exc:
        log.warning("warm-up: %s", exc)
    except Exception:  # warm-up is an optimisation; the first real call reports any error properly
        log.exception("warm-up failed")


Transport = Literal["stdio", "sse", "streamable-http"]
_LOOPBACK_NAMES = {"localhost"}


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_tokens(settings: Settings) -> TokenStore | None:
    """The token file for HTTP hosting, or None with ``no_auth`` (loopback only). Refuses to serve
    HTTP with no usable token, saying how to create one."""
    if settings.no_auth:
        if not _is_loopback(settings.host):
            raise InvalidArgumentError(
                f"--no-auth serves every memory to anyone who can reach {settings.host}; it is only allowed on "
                "a loopback address (127.0.0.1). Create tokens with `mem-mcp token create` instead.",
                field="no_auth",
            )
        log.warning("serving HTTP without tokens on %s: every caller is an admin", settings.host)
        return None
    tokens = TokenStore(settings.token_path)
    if not tokens.active():
        raise InvalidArgumentError(
            f"No tokens in {settings.token_path}: HTTP needs bearer tokens. Create one with "
            "`mem-mcp token create --app default --tenant <user> --role write` and give it to the user; "
            "or, for a single user on 127.0.0.1 only, pass --no-auth.",
            field="tokens_file",
        )
    return tokens


class ClearAuthErrors:
    """ASGI wrapper that rewrites the SDK's bare 401 ("Authentication required") into a message that
    says what is wrong and what to do."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        has_header = any(k.lower() == b"authorization" for k, _ in scope.get("headers", []))
        rewriting = False

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal rewriting
            if message["type"] == "http.response.start" and message["status"] == 401:
                rewriting = True
                if has_header:
                    why = ("The bearer token is not valid: it is unknown, revoked, or mistyped. Check the "
                           "Authorization header, or ask the operator for a new token.")
                else:
                    why = ("This server needs a bearer token: send 'Authorization: Bearer mmcp_...'. The "
                           "operator creates one with `mem-mcp token create --app A --tenant T --role write`.")
                body = json.dumps({"error": "invalid_token", "error_description": why}).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**message, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if rewriting:
                return  # the SDK's original body
            await send(message)

        await self.app(scope, receive, send_wrapper)


def http_app(
    settings: Settings, transport: Transport, service: MemoryService | None = None, *, tokens: TokenStore | None = None
) -> Any:
    """The ASGI app serving MCP over streamable HTTP (at /mcp) or SSE (at /sse and /messages/),
    plus /healthz. ``tokens`` None means no authentication."""
    server = build_server(settings, service, tokens=tokens)
    if transport == "streamable-http":
        app = server.streamable_http_app(stateless_http=settings.stateless_http, host=settings.host)
    elif transport == "sse":
        app = server.sse_app(host=settings.host)
    else:
        raise InvalidArgumentError(f"{transport!r} is not an HTTP transport; use sse or streamable-http.", field="transport")
    return ClearAuthErrors(app)


def run(settings: Settings, transport: Transport = "stdio") -> None:
    """Serve over stdio, or over HTTP with tokens until SIGINT/SIGTERM. On shutdown the server stops
    accepting requests, lets those in flight finish (up to 30 s), then finishes queued extraction jobs
    and writes out the request log."""
    if transport == "stdio":
        build_server(settings).run("stdio")
        return
    import uvicorn

    tokens = load_tokens(settings)
    from .service import MemoryService

    core = MemoryService(settings)
    app = http_app(settings, transport, core, tokens=tokens)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False,
        log_level=settings.log_level.lower(), timeout_graceful_shutdown=30,
    )
    path = "/mcp" if transport == "streamable-http" else "/sse"
    log.warning("mem-mcp %s on http://%s:%d%s (health: /healthz)", transport, settings.host, settings.port, path)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            # After in-flight requests are done, and before uvicorn re-raises SIGTERM to exit.
            await super().shutdown(sockets)
            await asyncio.to_thread(core.close)

    try:
        Server(config).run()
    finally:
        core.close()  # idempotent; covers a failed start
