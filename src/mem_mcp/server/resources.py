"""The MCP resources: stores, one memory, the recent memories, and user profiles, as JSON.

Template resources read the request's ``AppState`` from their typed Context; the two static ones
cannot take a Context (the SDK refuses it), so they read ``current_state``, which the server sets
around every read, and keep the generic agent and run. Errors are mapped in one place
(``app.MemoryMCPServer.read_resource``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context

from .connection import call_context
from .state import AppState, current_state

if TYPE_CHECKING:
    from mcp.server import MCPServer

Ctx = Context[AppState, Any]
JSON = "application/json"


async def stores_resource() -> str:
    state = current_state.get()
    return (await state.service.list_stores(ctx=call_context(None, state))).model_dump_json()


async def store_resource(store: str, ctx: Ctx) -> str:
    state = ctx.request_context.lifespan_context
    return (await state.service.get_store(store, ctx=call_context(ctx, state))).model_dump_json()


async def memory_resource(store: str, memory_id: str, ctx: Ctx) -> str:
    state = ctx.request_context.lifespan_context
    memory = await state.service.lookup_memory(memory_id, store=store, ctx=call_context(ctx, state))
    return memory.model_dump_json()


async def recent_resource() -> str:
    state = current_state.get()
    return (await state.service.list_memories(limit=20, ctx=call_context(None, state))).model_dump_json()


async def profile_resource(profile_schema_id: str, ctx: Ctx) -> str:
    state = ctx.request_context.lifespan_context
    profile = await state.service.get_user_profile(profile_schema_id, ctx=call_context(ctx, state))
    return profile.model_dump_json()


async def tenant_profile_resource(profile_schema_id: str, tenant_id: str, ctx: Ctx) -> str:
    state = ctx.request_context.lifespan_context
    call = call_context(ctx, state)
    return (await state.service.get_user_profile(profile_schema_id, tenant_id=tenant_id, ctx=call)).model_dump_json()


def register(server: MCPServer[AppState]) -> None:
    """Add every resource to ``server``, in the order resources/list shows them."""
    server.resource("memory://stores", mime_type=JSON, description="All memory stores.")(stores_resource)
    server.resource("memory://stores/{store}", mime_type=JSON, description="One memory store.")(store_resource)
    server.resource(
        "memory://stores/{store}/memories/{memory_id}",
        mime_type=JSON,
        description="One memory of your app and tenant (any agent or run).",
    )(memory_resource)
    server.resource(
        "memory://recent",
        mime_type=JSON,
        description="The 20 most recent memories of your app and tenant, across agents and runs.",
    )(recent_resource)
    server.resource(
        "memory://profiles/{profile_schema_id}",
        mime_type=JSON,
        description="The current user's profile for a profile schema (attributes with their values).",
    )(profile_resource)
    server.resource(
        "memory://profiles/{profile_schema_id}/{tenant_id}",
        mime_type=JSON,
        description="One user's (tenant's) profile for a profile schema.",
    )(tenant_profile_resource)
