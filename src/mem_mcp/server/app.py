"""The MCP server: ``build_server`` wires the tools, resources and prompts onto a ``MemoryMCPServer``,
whose lifespan builds the ``AppState`` every request reads, and which maps errors for all three kinds
of call in one place.

Errors come back typed, through one mapping (``typed_error``): ours as raised, argument validation
errors as INVALID_ARGUMENT naming the argument, anything else as INTERNAL with its traceback logged
(to stderr). A tool call answers ``isError`` with the text "CODE: message" and no structured content
(a client validates structured content against the tool's output schema, which an error does not
match: the TypeScript SDK would reject the whole result), and ``{"error": {"code", "message",
"field"}}`` in the result's ``_meta``; a resource read or a prompt fails with "CODE: message" (a
prompt's error also carries ``{"error": ...}`` as data). Calls refused before they reach the service
(unknown tool or argument, invalid arguments, a tool outside the connection's set, rate limits) are
written to the request log too. The SDK's own refusals of resources and prompts pass through as the
SDK words them.

A connection lists the core tools (``tools.CORE``) unless MEM_MCP_TOOLS=all or its token is an
admin's; definitions are slimmed and results compacted for the model (``wire``).
"""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, CallToolResult, TextContent
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from .. import __version__
from ..auth import LimitKind, RateLimiter, RateLimits, TokenRecord, TokenStore
from ..config import Settings
from ..errors import InvalidArgumentError, MemMcpError, NotFoundError, PermissionDeniedError, RateLimitedError
from ..service.context import operation_name
from . import prompts, resources, tools
from .connection import TokenVerifier, call_context, refusal_context, token_record
from .params import INSTRUCTIONS
from .state import AppState, Core, current_state
from .wire import check_arguments, compact_json, slim_schema, strip_nulls

if TYPE_CHECKING:
    from ..service import MemoryService

log = logging.getLogger(__name__)

#: Tools that count against the per-token add and search limits (everything counts against the total).
_LIMIT_KINDS: dict[str, LimitKind] = {"add_memories": "add", "retry_request": "add", "search_memories": "search"}


class MemoryMCPServer(MCPServer[AppState]):
    """MCPServer over one ``Core``, with per-token rate limits on HTTP and one error mapping: our typed
    errors (and argument validation errors) become ``isError`` results or "CODE: message" failures."""

    def __init__(self, settings: Settings, core: Core, *, tokens: TokenStore | None = None) -> None:
        auth_kwargs: dict[str, Any] = {}
        if tokens is not None:
            auth_kwargs = {
                "token_verifier": TokenVerifier(tokens),
                # Static bearer tokens, no OAuth server: no discovery metadata is published.
                "auth": AuthSettings(issuer_url=f"http://{settings.host}:{settings.port}", resource_server_url=None),
            }
        super().__init__(
            "mem-mcp",
            title="mem-mcp long-term memory",
            instructions=INSTRUCTIONS,
            version=__version__,
            lifespan=lifespan,
            log_level=settings.log_level,
            **auth_kwargs,
        )
        self.core = core
        self.app_settings = settings
        self._tool_specs: dict[str, MCPTool] | None = None
        self.process_run_id = f"run-{uuid.uuid4().hex[:12]}"
        self.limiter = (
            None
            if tokens is None
            else RateLimiter(
                RateLimits(
                    per_minute=settings.rate_limit_per_minute,
                    add_per_minute=settings.rate_limit_add_per_minute,
                    search_per_minute=settings.rate_limit_search_per_minute,
                )
            )
        )

    def app_state(self) -> AppState:
        return AppState(
            core=self.core, settings=self.app_settings, process_run_id=self.process_run_id, limiter=self.limiter
        )

    def _check_rate(self, operation: str, kind: LimitKind | None) -> None:
        rec = token_record()
        if self.limiter is None or rec is None:
            return
        try:
            self.limiter.check(rec.id, rec.rate_limits, kind)
        except RateLimitedError as exc:
            self._record_refusal(operation, rec, exc)
            raise

    def _record_refusal(self, operation: str, rec: TokenRecord, exc: MemMcpError) -> None:
        """Write a call the rate limiter refused to the request log."""
        self.core.service().record_refusal(operation, refusal_context(rec), exc)

    def _log_refused_call(self, operation: str, context: Any, exc: MemMcpError) -> None:
        """Write a call refused before it reached the service (its arguments, or the tool itself) to the
        request log, under the caller's scope defaults."""
        try:
            ctx = call_context(context, self._state_of(context))
            self.core.service().record_refusal(operation, ctx, exc)
        except MemMcpError as err:  # e.g. the data directory is unusable: nothing to log into
            log.warning("could not log the refused %s: %s", operation, err)

    def tool_names(self) -> frozenset[str] | None:
        """The tools this connection lists and may call; None: all of them."""
        if self.app_settings.tools == "all":
            return None
        rec = token_record()
        if rec is not None and rec.role == "admin":
            return None
        return tools.CORE

    async def _specs(self) -> dict[str, MCPTool]:
        if self._tool_specs is None:
            self._tool_specs = {t.name: t for t in await super().list_tools()}
        return self._tool_specs

    async def list_tools(self) -> list[MCPTool]:
        allowed = self.tool_names()
        return [
            t.model_copy(update={"input_schema": slim_schema(t.input_schema)})
            for t in (await self._specs()).values()
            if allowed is None or t.name in allowed
        ]

    async def _check_call(self, name: str, arguments: dict[str, Any]) -> MCPTool:
        specs = await self._specs()
        allowed = self.tool_names()
        if name not in specs:
            listed = [n for n in specs if allowed is None or n in allowed]
            raise NotFoundError(f"There is no tool {name!r}; the tools are: {', '.join(listed)}.", field="name")
        if allowed is not None and name not in allowed:
            raise PermissionDeniedError(
                f"{name} is an operator tool, not enabled for this connection. The server's operator enables it "
                "with MEM_MCP_TOOLS=all (or, on HTTP, an admin token).",
                field="name",
            )
        check_arguments(name, arguments, specs[name].input_schema)
        return specs[name]

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        operation = operation_name(name)
        try:
            self._check_rate(operation, _LIMIT_KINDS.get(name))
        except RateLimitedError as exc:
            return _error_result(exc)
        try:
            spec = await self._check_call(name, arguments or {})
        except MemMcpError as exc:
            self._log_refused_call(operation, context, exc)
            return _error_result(exc)
        try:
            result = await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not (isinstance(exc, UnexpectedToolError) or isinstance(cause, (MemMcpError, ValidationError))):
                raise  # the SDK's own refusal
            assert cause is not None  # UnexpectedToolError always has the original beneath
            err = typed_error(cause, f"tool {name}")
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                # The arguments failed validation, so the call never reached the service (which logs the rest).
                self._log_refused_call(operation, context, err)
            return _error_result(err)
        return _compact(result, spec)

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        try:
            self._check_rate("ReadResource", None)
        except RateLimitedError as exc:
            raise ResourceError(f"{exc.code}: {exc.message}") from exc
        token = current_state.set(self._state_of(context))
        try:
            return await super().read_resource(uri, context)
        except ResourceError as exc:
            if isinstance(exc, ResourceNotFoundError) or exc.__cause__ is None:
                raise
            err = typed_error(exc.__cause__, f"resource {uri}")
            raise ResourceError(f"{err.code}: {err.message}") from err
        finally:
            current_state.reset(token)

    def _state_of(self, context: Any) -> AppState:
        """The lifespan's state of the request ``context``; outside a request, this server's."""
        try:
            state = context.request_context.lifespan_context
        except (AttributeError, ValueError):  # no context, or not inside a request
            return self.app_state()
        return state if isinstance(state, AppState) else self.app_state()

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None, context: Any = None) -> Any:
        try:
            self._check_rate("GetPrompt", None)
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except Exception as exc:
            # The SDK wraps a failed render twice: ValueError(str) from ValueError("Error rendering prompt")
            # from what the prompt raised. Its own refusals (unknown prompt, missing arguments) have no
            # original beneath.
            original = exc if isinstance(exc, MemMcpError) else _rendering_cause(exc)
            if original is None:
                raise
            err = typed_error(original, f"prompt {name}")
            message = f"{err.code}: {err.message}"
            raise MCPError(code=INTERNAL_ERROR, message=message, data={"error": err.to_dict()}) from err


@asynccontextmanager
async def lifespan(server: MCPServer[AppState]) -> AsyncIterator[AppState]:
    """Entered once on stdio and streamable HTTP, once per connection on SSE. Builds the state the
    requests read and starts the warm-up (once per server); the last to leave closes the service if
    the server built it (``Core.leave``)."""
    assert isinstance(server, MemoryMCPServer)
    timer = server.core.enter()
    try:
        yield server.app_state()
    finally:
        await server.core.leave(timer)


def build_server(
    settings: Settings, service: MemoryService | None = None, *, tokens: TokenStore | None = None
) -> MemoryMCPServer:
    """Build the MCP server. Nothing is opened or loaded here; the database opens on first use and
    the model loads in the background once the server is up.

    With ``tokens`` (HTTP hosting) every request needs a bearer token from that file; the token binds
    the caller's app, tenant and role, and per-token rate limits apply.
    """
    server = MemoryMCPServer(settings, Core(settings, service), tokens=tokens)
    server.custom_route("/healthz", methods=["GET"])(_healthz(server))
    tools.register(server)
    resources.register(server)
    prompts.register(server)
    return server


def _healthz(server: MemoryMCPServer) -> Any:
    async def healthz(_request: Any) -> Any:
        """Liveness and store availability for load balancers (no token needed, no tenant data)."""
        from starlette.responses import JSONResponse

        health = await server.core.async_service().health()
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    return healthz


def typed_error(exc: BaseException, what: str) -> MemMcpError:
    """The one error mapping for tools, resources and prompts: our typed errors as raised, an argument
    validation error as INVALID_ARGUMENT naming the argument, anything else as INTERNAL, its traceback
    logged and its text kept out of the answer."""
    if isinstance(exc, MemMcpError):
        return exc
    if isinstance(exc, ValidationError):
        return _validation_error(exc)
    log.error("%s failed with an unexpected %s", what, type(exc).__name__, exc_info=exc)
    return MemMcpError(
        f"The {what} failed with an internal error ({type(exc).__name__}); nothing in the request was at "
        "fault. The server log has the details; try again, and report it if it persists."
    )


def _rendering_cause(exc: BaseException) -> BaseException | None:
    """What a prompt function raised, beneath the SDK's two ValueError wrappers; None if it is not a
    render failure."""
    inner = exc.__cause__
    return inner.__cause__ if inner is not None else None


def _validation_error(exc: ValidationError) -> InvalidArgumentError:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return InvalidArgumentError(
        f"Argument `{loc}` is invalid: {err['msg']}. Fix that argument and call again.", field=loc
    )


def _error_result(exc: MemMcpError) -> CallToolResult:
    """``isError`` with "CODE: message", the one text every client shows; the structured error rides in
    ``_meta`` (structured content would have to match the tool's output schema)."""
    return CallToolResult(
        content=[TextContent(type="text", text=f"{exc.code}: {exc.message}")],
        is_error=True,
        _meta={"error": exc.to_dict()},
    )


def _compact(result: Any, spec: MCPTool) -> Any:
    """A successful result without null fields, its text the same data as compact JSON."""
    if not isinstance(result, CallToolResult) or result.is_error or result.structured_content is None:
        return result
    schema = spec.output_schema or {}
    data = strip_nulls(result.structured_content, schema, schema.get("$defs", {}))
    return CallToolResult(
        content=[TextContent(type="text", text=compact_json(data))],
        structured_content=data,
        _meta=result.meta,
    )
