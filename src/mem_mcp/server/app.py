"""The MCP server: ``build_server`` wires the tools, resources and prompts onto a ``MemoryMCPServer``,
whose lifespan builds the ``AppState`` every request reads, and which maps errors for all three kinds
of call in one place.

Errors come back typed, through one mapping (``typed_error``): ours as raised, argument validation
errors as INVALID_ARGUMENT naming the argument, anything else as INTERNAL with its traceback logged
(to stderr). A tool call answers ``isError`` with ``{"error": {"code", "message", "field"}}`` as
structured content; a resource read or a prompt fails with "CODE: message" (a prompt's error also
carries ``{"error": ...}`` as data). The SDK's own refusals (unknown tool, resource or prompt,
missing arguments) pass through as the SDK words them.
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
from pydantic import ValidationError

from .. import __version__
from ..auth import LimitKind, RateLimiter, RateLimits, TokenRecord, TokenStore
from ..config import Settings
from ..errors import InvalidArgumentError, MemMcpError, RateLimitedError
from . import prompts, resources, tools
from .connection import TokenVerifier, refusal_context, token_record
from .params import INSTRUCTIONS
from .state import AppState, Core, current_state

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

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        try:
            self._check_rate(_operation(name), _LIMIT_KINDS.get(name))
        except RateLimitedError as exc:
            return _error_result(exc)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not (isinstance(exc, UnexpectedToolError) or isinstance(cause, (MemMcpError, ValidationError))):
                raise  # the SDK's own refusal, e.g. an unknown tool
            assert cause is not None  # UnexpectedToolError always has the original beneath
            return _error_result(typed_error(cause, f"tool {name}"))

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


def _operation(tool: str) -> str:
    """The request log's name of a tool: add_memories → AddMemories."""
    return "".join(part.capitalize() for part in tool.split("_"))


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
    return CallToolResult(
        content=[TextContent(type="text", text=f"{exc.code}: {exc.message}")],
        structured_content={"error": exc.to_dict()},
        is_error=True,
    )
