"""What the model reads before it calls anything: the server instructions and the parameter types
shared by several tools (each with its description)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp_types import ToolAnnotations
from pydantic import Field, WithJsonSchema

from ..models import MessageInput, ScopeInput

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

StoreArg = Annotated[str, Field(description="Memory store; omit for 'default'.")]
_STRING = {"type": "string"}
ScopeArg = Annotated[
    ScopeInput | None,
    # Advertised without per-segment descriptions: it is in every tool and a model almost never sets it.
    WithJsonSchema(
        {
            "type": "object",
            "properties": {seg: _STRING for seg in ("app_id", "tenant_id", "agent_id", "run_id")},
        }
    ),
    Field(description="Omit: the connection fills it. '*' in agent_id/run_id on search/list means every one."),
]
#: Conversation turns, advertised in their plain form ({role, content}); a list of text parts is also
#: accepted as content.
MessagesArg = Annotated[
    list[MessageInput] | None,
    WithJsonSchema(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"role": {"enum": ["user", "assistant", "system", "tool"]}, "content": _STRING},
                "required": ["role", "content"],
            },
        }
    ),
]
FilterArg = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            'Optional conditions, e.g. {"type": "preference", "created_at": {"$gte": "2026-01-01"}}. '
            "Fields: created_at, updated_at, type, tags, agent_id, run_id, status, metadata.<key>. "
            "Operators: $eq $ne $gt $gte $lt $lte $in $nin $contains; combine with $and $or $not."
        )
    ),
]
MemoryIdArg = Annotated[str, Field(description="The memory's id, as returned by search_memories or list_memories.")]
ProfileSchemaIdArg = Annotated[
    str, Field(description="The profile_schema_id create_profile_schema returned (list_profile_schemas shows them).")
]

#: Tool annotations: reads that change nothing, and deletions the client should confirm.
READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True)
DESTRUCTIVE = ToolAnnotations(destructive_hint=True)
