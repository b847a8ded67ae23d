"""Who is calling: the bearer token behind an HTTP request, and the scope defaults of a connection
(configured app and tenant, or the token's; the client's name as agent_id; the session as run_id).

Only the SDK's public API is read. SDK 2.3 keeps the request's ``Connection`` (which holds the
transport's session id) private to ``ServerSession``, so the session id is taken from what the
transport routed the request by: the ``Mcp-Session-Id`` header of stateful streamable HTTP.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from starlette.requests import Request

from ..auth import TokenRecord, TokenStore
from ..extraction import Extractor
from ..scope import ScopeDefaults
from . import sampling
from .state import AppState

if TYPE_CHECKING:
    from ..service import CallContext

_TOKEN_CLAIM = "mem_mcp_token"
_DEFAULT_AGENT = "mcp-client"


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


def token_record() -> TokenRecord | None:
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


def _request(ctx: Context[AppState, Any] | None) -> ServerRequestContext[AppState, Any] | None:
    """The request being served, or None (a static resource, or a call outside a request)."""
    if ctx is None:
        return None
    try:
        return ctx.request_context
    except ValueError:  # "Context is not available outside of a request"
        return None


def session_id(request: ServerRequestContext[AppState, Any], state: AppState) -> str | None:
    """The transport's session id: on stateful streamable HTTP, the Mcp-Session-Id header the session
    manager routed this request by. None on stdio, SSE, stateless HTTP and the sessionless 2026-07-28
    protocol."""
    if state.settings.stateless_http or request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return None
    http = request.request
    if not isinstance(http, Request):
        return None
    return http.headers.get(MCP_SESSION_ID_HEADER)


def call_context(ctx: Context[AppState, Any] | None, state: AppState) -> CallContext:
    """Scope defaults of this connection: configured app/tenant (or the token's), client name, session.
    ``ctx`` None (static resources, which cannot take one) keeps the generic agent and run."""
    from ..service import CallContext

    agent = _DEFAULT_AGENT
    run = state.process_run_id
    request = _request(ctx)
    if request is not None:
        params = request.session.client_params
        if params is not None and params.client_info is not None:
            agent = _safe_segment(params.client_info.name, agent)
        run = _safe_segment(session_id(request, state), run)
    extractor = _sampling_extractor(ctx, state, agent)
    rec = token_record()
    if rec is not None:
        # HTTP with a token: app and tenant are the token's, whatever the request says.
        defaults = replace(rec.defaults(), agent_id=agent, run_id=run)
        return CallContext(defaults=defaults, actor=agent, role=rec.role, token_id=rec.id, extractor=extractor)
    defaults = ScopeDefaults(
        app_id=state.settings.default_app, tenant_id=state.settings.default_tenant, agent_id=agent, run_id=run
    )
    return CallContext(defaults=defaults, actor=agent, extractor=extractor)


def refusal_context(rec: TokenRecord) -> CallContext:
    """The context a call refused by the rate limiter is logged under (it never reached a tool)."""
    from ..service import CallContext

    return CallContext(defaults=rec.defaults(), role=rec.role, token_id=rec.id)


def _sampling_extractor(ctx: Context[AppState, Any] | None, state: AppState, client: str) -> Extractor | None:
    """With MEM_MCP_EXTRACTOR=sampling, the extractor that asks this connection's client model."""
    if state.settings.extractor != "sampling" or ctx is None:
        return None
    try:
        return sampling.for_request(
            ctx, lambda: state.service.sync.extractor, state.settings.sampling_timeout_s, client
        )
    except (ValueError, RuntimeError):  # outside a request, or no running loop
        return None
