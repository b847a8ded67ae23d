"""The MCP adapter: one tool per service operation, resources, and prompts over ``MemoryService``,
served over stdio or HTTP (streamable HTTP or SSE, with bearer tokens and rate limits).

The only package that imports ``mcp``, starlette and uvicorn; nothing here touches LanceDB,
fastembed or anthropic. Each tool fills the caller's scope defaults from the connection (configured
app and tenant, or those its token is bound to; the client's name as agent_id; the session as run_id)
and hands off to the service. Errors come back with ``isError`` set, a typed code, and a message that
tells the model what to do next.

- ``app``: ``build_server``, the lifespan and the one error mapping
- ``state``: ``AppState`` (what every request reads) and the lazily built service behind it
- ``connection``: who is calling (token, client name, session) → ``CallContext``
- ``params``: instructions and the shared parameter types
- ``tools``, ``resources``, ``prompts``: the MCP surface, one plain function per handler
- ``http``: tokens, the ASGI app, uvicorn with graceful shutdown
- ``sampling``: extraction by the client's own model (MCP sampling)
"""

from __future__ import annotations

from ..config import Settings
from .app import MemoryMCPServer, build_server
from .connection import TokenVerifier, call_context
from .http import ClearAuthErrors, Transport, http_app, load_tokens, serve_http
from .params import INSTRUCTIONS, FilterArg, MemoryIdArg, ProfileSchemaIdArg, ScopeArg, StoreArg
from .state import AppState

__all__ = [
    "INSTRUCTIONS",
    "AppState",
    "ClearAuthErrors",
    "FilterArg",
    "MemoryIdArg",
    "MemoryMCPServer",
    "ProfileSchemaIdArg",
    "ScopeArg",
    "StoreArg",
    "TokenVerifier",
    "Transport",
    "build_server",
    "call_context",
    "http_app",
    "load_tokens",
    "run",
]


def run(settings: Settings, transport: Transport = "stdio") -> None:
    """Serve over stdio, or over HTTP with tokens until SIGINT/SIGTERM (see ``http.serve_http``)."""
    if transport == "stdio":
        from .stdio import run_stdio

        run_stdio(build_server(settings))
        return
    serve_http(settings, transport)
