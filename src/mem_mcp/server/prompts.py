"""The MCP prompts: recall what is known about the user on a topic, and save the conversation.

Errors are mapped in one place (``app.MemoryMCPServer.get_prompt``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context

from .. import retrieval
from .connection import call_context
from .state import AppState

if TYPE_CHECKING:
    from mcp.server import MCPServer

    from ..service import AsyncMemoryService, CallContext

Ctx = Context[AppState, Any]


async def recall_user_context(topic: str, ctx: Ctx) -> str:
    # Bare lines, not scored hits: only those near the best (retrieval.recall_threshold), so the model is
    # not handed the long tail of a search (BENCHMARKS.md, "recall prompt").
    state = ctx.request_context.lifespan_context
    call = call_context(ctx, state)
    result = await state.service.search_memories(query=topic, top_k=8, ctx=call)
    threshold = retrieval.recall_threshold([h.score for h in result.results])
    hits = [h for h in result.results if h.score >= threshold]
    profile = await _profile_lines(state.service, call)
    if not hits and not profile:
        return (
            f"I have no saved memories about {topic!r} yet. Answer normally, and if the user shares "
            "something lasting about it, save it with add_memories."
        )
    parts = []
    if profile:
        parts.append("The user's profile:\n" + "\n".join(profile))
    if hits:
        lines = "\n".join(f"- [{h.memory.type}] {h.memory.text}" for h in hits)
        parts.append(f"What I remember about the user related to {topic!r} (from earlier conversations):\n{lines}")
    else:
        parts.append(f"I have no saved memories about {topic!r} yet.")
    return "\n\n".join(parts) + "\n\nUse what is relevant; if something is outdated, correct it with update_memory."


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


async def save_conversation() -> str:
    return (
        "Review our conversation so far and save what is worth remembering about me for future "
        "conversations: lasting facts, preferences, plans and reminders, and lessons about tools. Call "
        "add_memories once with `messages` set to the conversation turns (role and content, in order), "
        "or, if you cannot pass the turns, call add_memories with `text` once per fact: one self-contained "
        "sentence each, in the language I used, in the third person. Skip small talk and anything secret "
        "(passwords, keys). Then tell me briefly what you saved."
    )


def register(server: MCPServer[AppState]) -> None:
    """Add both prompts to ``server``."""
    server.prompt(
        name="recall_user_context",
        description="Recall what is known about the user on a topic, to use in the answer.",
    )(recall_user_context)
    server.prompt(
        name="save_conversation",
        description="Ask the assistant to save what is worth remembering from this conversation.",
    )(save_conversation)
