"""The wire shapes of mem-mcp: one pydantic model per shape, shared by the service, the MCP tools and
the CLI. Field descriptions end up in the MCP output schemas, so they are written for the reader."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

MemoryStatus = Literal["active", "superseded", "deleted"]
EventType = Literal["ADD", "UPDATE", "DELETE", "NONE"]
Role = Literal["user", "assistant", "system", "tool"]

#: Built-in extraction strategies; a memory's ``type`` is the strategy that produced it.
BUILTIN_STRATEGIES: tuple[str, ...] = ("fact", "preference", "episodic", "summary", "profile", "tool")

#: How search results are grouped (DESIGN §4): group name -> memory types in it.
RESULT_GROUPS: dict[str, tuple[str, ...]] = {
    "facts": ("fact", "episodic", "summary", "profile", "note"),
    "preferences": ("preference",),
    "tool_experience": ("tool",),
    "skills": ("skill",),
}


class Scope(BaseModel):
    """Who a memory belongs to: application, end user (tenant), agent, and run (session)."""

    model_config = ConfigDict(frozen=True)

    app_id: str = Field(description="Application id.")
    tenant_id: str = Field(description="End-user id.")
    agent_id: str = Field(description="Agent id; '*' matches every agent on search and list.")
    run_id: str = Field(description="Run (conversation/session) id; '*' matches every run on search and list.")


class ScopeInput(BaseModel):
    """A scope as a caller sends it: any omitted segment is filled from the connection's defaults."""

    app_id: str | None = Field(default=None, description="Application id. Usually omitted.")
    tenant_id: str | None = Field(default=None, description="End-user id. Usually omitted.")
    agent_id: str | None = Field(default=None, description="Agent id, or '*' on search/list for every agent.")
    run_id: str | None = Field(default=None, description="Run/session id, or '*' on search/list for every run.")


class CustomStrategy(BaseModel):
    """A store-specific extraction strategy (used by the LLM extractor)."""

    name: str = Field(min_length=1, max_length=64, description="Strategy name; becomes the memory type.")
    type: str = Field(default="fact", description="Built-in type it behaves like (fact, preference, ...).")
    extraction_prompt: str = Field(default="", max_length=8000, description="What to extract.")
    update_prompt: str = Field(default="", max_length=8000, description="How to reconcile with what is known.")
    description: str = Field(default="", max_length=2000)


class MemoryStore(BaseModel):
    """A named container of memories, pinned to one embedding model."""

    name: str
    description: str = ""
    extraction_strategies: list[str] = Field(default_factory=lambda: ["fact", "preference"])
    custom_strategies: list[CustomStrategy] = Field(default_factory=list)
    short_term_ttl: int = Field(default=30, description="Days raw messages are kept.")
    embedding_model: str
    embedding_dim: int
    memory_count: int | None = Field(default=None, description="Active memories (filled by get, not by list).")
    created_at: datetime
    updated_at: datetime


class StoreList(BaseModel):
    stores: list[MemoryStore]


class Memory(BaseModel):
    """One memory unit (its current version unless read from history)."""

    id: str
    store: str
    scope: Scope
    text: str
    type: str = Field(
        description="The strategy that produced it: fact, preference, episodic, summary, profile, tool, note or a custom one."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    confidence: float = 1.0
    status: MemoryStatus = "active"
    source: list[str] = Field(default_factory=list, description="Ids of the messages or request it came from.")
    key: str | None = Field(default=None, description="Slot of a single-valued fact, e.g. 'home_city'.")
    extractor: str | None = Field(default=None, description="What produced it: text, offline, anthropic, sampling.")
    model: str | None = Field(default=None, description="The LLM that extracted it, if any.")
    version: int = 1
    created_at: datetime
    updated_at: datetime
    valid_from: datetime
    superseded_at: datetime | None = None
    deleted_at: datetime | None = None


class SimilarMemory(BaseModel):
    """An existing memory close to one just added: perhaps an older version of it."""

    memory_id: str
    text: str
    score: float = Field(ge=0.0, le=1.0, description="Similarity in [0, 1]; higher is closer.")


class MemoryEvent(BaseModel):
    """What one write changed."""

    event: EventType
    memory_id: str
    text: str = ""
    old_text: str | None = None
    type: str | None = None
    similar: list[SimilarMemory] | None = Field(
        default=None,
        description="On an ADD of a text: the most similar existing memories. If one of them is an older "
        "version of the new one, update_memory or delete_memory it.",
    )


class ProfileEvent(BaseModel):
    """What an extraction changed in a user profile: one attribute's value."""

    event: EventType = Field(
        description="ADD (first value), UPDATE (changed, see old_value), DELETE (cleared) or NONE."
    )
    profile_schema_id: str
    attribute_id: str
    name: str
    value: str | None = None
    old_value: str | None = None


class WriteResult(BaseModel):
    """The answer to a write: the events it caused and the request it was logged under."""

    request_id: str
    status: Literal["done", "pending", "running", "failed"] = "done"
    events: list[MemoryEvent] = Field(default_factory=list)
    profile_events: list[ProfileEvent] = Field(
        default_factory=list, description="Profile attributes it filled or changed (with profile_schema_id)."
    )
    message_ids: list[str] = Field(default_factory=list, description="Ids of the stored short-term messages.")
    memory: Memory | None = Field(default=None, description="The memory as it is now (update and delete).")
    note: str | None = None


class SearchHit(BaseModel):
    memory: Memory
    score: float = Field(ge=0.0, le=1.0, description="Relevance in [0, 1]; higher is better.")


class SearchResult(BaseModel):
    """Ranked hits, plus the same hits grouped by kind (facts, preferences, tool_experience, skills)."""

    results: list[SearchHit]
    groups: dict[str, list[SearchHit]] = Field(default_factory=dict)
    total_candidates: int = 0


class MemoryBrief(BaseModel):
    """A memory as the tools list it. By default (``detail="compact"``) only what a model uses: the id (to
    update or delete it), the text, the type and when it was saved; when it changed, tags and metadata
    when it has some. ``detail="full"`` adds every other field of ``Memory``."""

    id: str
    text: str
    type: str
    created_at: datetime
    updated_at: datetime | None = Field(default=None, description="When it last changed, if it did.")
    tags: list[str] | None = Field(default=None, description="Present when it has tags.")
    metadata: dict[str, Any] | None = Field(default=None, description="Present when it has metadata.")
    # detail="full" only:
    store: str | None = None
    scope: Scope | None = None
    status: MemoryStatus | None = None
    version: int | None = None
    confidence: float | None = None
    source: list[str] | None = None
    key: str | None = None
    extractor: str | None = None
    model: str | None = None
    valid_from: datetime | None = None
    superseded_at: datetime | None = None
    deleted_at: datetime | None = None

    @staticmethod
    def fields_of(m: Memory, full: bool) -> dict[str, Any]:
        extra: dict[str, Any] = (
            m.model_dump(exclude={"id", "text", "type", "created_at", "updated_at", "tags", "metadata"}) if full else {}
        )
        changed = m.updated_at if full or m.updated_at != m.created_at else None
        return dict(
            id=m.id,
            text=m.text,
            type=m.type,
            created_at=m.created_at,
            updated_at=changed,
            tags=m.tags or None,
            metadata=m.metadata or None,
            **extra,
        )

    @classmethod
    def of(cls, m: Memory, full: bool) -> MemoryBrief:
        return cls(**cls.fields_of(m, full))


class MemoryHit(MemoryBrief):
    """A memory as search_memories answers it: a ``MemoryBrief`` with its relevance score."""

    score: float = Field(ge=0.0, le=1.0, description="Relevance in [0, 1]; higher is better.")

    @classmethod
    def of_hit(cls, hit: SearchHit, full: bool) -> MemoryHit:
        return cls(score=hit.score, **cls.fields_of(hit.memory, full))


class SearchAnswer(BaseModel):
    """The ranked hits of search_memories, each memory once. ``groups`` (``detail="full"``) names the
    ids of the hits by kind: facts, preferences, tool_experience, skills."""

    results: list[MemoryHit]
    groups: dict[str, list[str]] = Field(default_factory=dict)
    total_candidates: int | None = None

    @classmethod
    def of(cls, result: SearchResult, detail: Literal["compact", "full"] = "compact") -> SearchAnswer:
        full = detail == "full"
        return cls(
            results=[MemoryHit.of_hit(h, full) for h in result.results],
            groups={k: [h.memory.id for h in hits] for k, hits in result.groups.items()} if full else {},
            total_candidates=result.total_candidates if full else None,
        )


class RequestStatus(BaseModel):
    """The state of an add_memories request that extracts from messages (a job)."""

    request_id: str
    status: Literal["pending", "running", "done", "failed"]
    store: str
    scope: Scope
    message_ids: list[str]
    events: list[MemoryEvent] = Field(default_factory=list)
    profile_events: list[ProfileEvent] = Field(default_factory=list)
    profile_schema_id: str | None = None
    attempts: int = 0
    error_code: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime


class MemoryPage(BaseModel):
    """A page of memories with the total that matched."""

    memories: list[Memory]
    total: int
    offset: int
    limit: int


class MemoryListAnswer(BaseModel):
    """A page of list_memories: each memory as a ``MemoryBrief`` (compact unless ``detail="full"``), with
    the total that matched."""

    memories: list[MemoryBrief]
    total: int
    offset: int
    limit: int

    @classmethod
    def of(cls, page: MemoryPage, detail: Literal["compact", "full"] = "compact") -> MemoryListAnswer:
        full = detail == "full"
        return cls(
            memories=[MemoryBrief.of(m, full) for m in page.memories],
            total=page.total,
            offset=page.offset,
            limit=page.limit,
        )


class HistoryEntry(BaseModel):
    """One change in a memory's life."""

    event: EventType
    version: int
    text: str
    old_text: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: MemoryStatus
    at: datetime
    request_id: str | None = None


class MemoryHistory(BaseModel):
    memory_id: str
    entries: list[HistoryEntry]


class Message(BaseModel):
    """A short-term (raw) message of a run."""

    id: str
    scope: Scope
    role: Role
    content: str
    seq: int
    created_at: datetime
    request_id: str | None = None


class MessageList(BaseModel):
    messages: list[Message]


class RequestRecord(BaseModel):
    """One logged operation."""

    request_id: str
    operation: str
    store: str | None
    scope: Scope | None
    actor: str | None = None
    token_id: str | None = Field(
        default=None, description="Id of the HTTP token that made the request (never the token)."
    )
    created_at: datetime
    duration_ms: float
    outcome: Literal["ok", "error", "pending", "running", "done", "failed"]
    error_code: str | None = None
    detail: str | None = None


class RequestList(BaseModel):
    requests: list[RequestRecord]


class Deleted(BaseModel):
    """Confirmation of a store delete."""

    deleted: bool
    name: str
    memories_deleted: int = 0


class Stats(BaseModel):
    store: str
    embedding_model: str
    memories_active: int
    memories_superseded: int
    memories_deleted: int
    messages: int
    by_type: dict[str, int]


class ExportResult(BaseModel):
    """Exported memories as JSON Lines, the format `mem-mcp import` reads."""

    count: int
    jsonl: str


# -- profiles ---------------------------------------------------------------------------------------


def _without_none(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    for key in keys:
        if data.get(key) is None:
            data.pop(key, None)
    return data


class ProfileAttribute(BaseModel):
    """One attribute of a profile schema."""

    attribute_id: str
    name: str
    description: str = ""
    default_value: str | None = Field(default=None, description="Reported when the user's value is unknown.")


class ProfileAttributeInput(BaseModel):
    """An attribute as a caller defines it."""

    name: str = Field(min_length=1, max_length=64, description="Unique in the schema, e.g. '年龄' or 'occupation'.")
    description: str = Field(default="", max_length=1000, description="What to extract, e.g. '用户目前居住的城市'.")
    default_value: str | None = Field(default=None, max_length=1000, description="Optional initial value.")


class AttributeOperation(BaseModel):
    """One change to a schema's attributes: add a new one, or update or delete one by attribute_id."""

    op: Literal["add", "update", "delete"]
    attribute_id: str | None = Field(default=None, description="Required for update and delete.")
    name: str | None = Field(default=None, max_length=64, description="Required for add; a new name for update.")
    description: str | None = Field(default=None, max_length=1000)
    default_value: str | None = Field(default=None, max_length=1000, description="'' clears it on update.")


class ProfileSchema(BaseModel):
    """A named list of attributes to extract about each user of an app."""

    profile_schema_id: str
    name: str
    description: str = ""
    app_id: str
    attributes: list[ProfileAttribute]
    created_at: datetime
    updated_at: datetime


class ProfileSchemaSummary(BaseModel):
    profile_schema_id: str
    name: str
    description: str = ""
    attribute_count: int
    created_at: datetime
    updated_at: datetime


class ProfileSchemaList(BaseModel):
    """A page of profile schemas with the total."""

    profile_schemas: list[ProfileSchemaSummary]
    total: int


class ProfileSchemaDeleted(BaseModel):
    deleted: bool
    profile_schema_id: str
    values_deleted: int = Field(default=0, description="Stored profile values (all users, all versions) removed.")


class ProfileValueVersion(BaseModel):
    """One version of a user's attribute value, oldest first in a history."""

    version: int
    event: EventType
    value: str | None = Field(default=None, description="Absent when the value was cleared.")
    source: list[str] = Field(default_factory=list, description="Ids of the messages it came from.")
    extractor: str | None = None
    model: str | None = None
    confidence: float | None = None
    request_id: str | None = None
    at: datetime
    superseded_at: datetime | None = None

    @model_serializer(mode="wrap")
    def _drop_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(handler(self), ("value", "model", "superseded_at"))


class UserProfileAttribute(BaseModel):
    """One attribute of a user's profile. ``value`` is absent while it is unknown (``default_value``, when
    the schema has one, is reported beside it, not as the value)."""

    attribute_id: str
    name: str
    description: str = ""
    value: str | None = None
    default_value: str | None = None
    updated_at: datetime | None = Field(default=None, description="When the value last changed; absent when unknown.")
    source: list[str] = Field(default_factory=list, description="Ids of the messages the current value came from.")
    history: list[ProfileValueVersion] | None = Field(default=None, description="Every version, when asked for.")

    @model_serializer(mode="wrap")
    def _drop_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_none(handler(self), ("value", "default_value", "updated_at", "history"))


class UserProfile(BaseModel):
    """What is known about one user (app + tenant) for the attributes of one schema."""

    profile_schema_id: str
    schema_name: str
    schema_description: str = ""
    app_id: str
    tenant_id: str
    attributes: list[UserProfileAttribute]


class TextPart(BaseModel):
    """A text part of a message (other part types are not stored)."""

    type: Literal["text"] = "text"
    text: str


class MessageInput(BaseModel):
    """One conversation turn as a caller sends it."""

    role: Role = Field(description="user, assistant, system or tool.")
    content: str | list[TextPart] = Field(description="The text, or a list of text parts.")
    created_at: datetime | None = Field(default=None, description="When it was said (default: now).")

    def plain_text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content)


OrderBy = Literal["relevance", "created_at_desc", "created_at_asc", "updated_at_desc", "updated_at_asc"]

# -- bounded parameters, declared once ----------------------------------------------------------------
# The MCP tool signatures and the service's checks read their bounds from these aliases
# (``validation.check_bounded``), so a schema and its check cannot drift apart.

TopK = Annotated[int, Field(ge=1, le=50, description="How many results, 1-50.")]
SearchOffset = Annotated[int, Field(ge=0, le=10_000, description="Skip this many results (paging).")]
ListOffset = Annotated[int, Field(ge=0, le=10**9, description="Skip this many (paging).")]
PageLimit = Annotated[int, Field(ge=1, le=500, description="Page size, 1-500.")]
MessageLimit = Annotated[int, Field(ge=1, le=1000, description="How many messages, 1-1000.")]
RequestLimit = Annotated[int, Field(ge=1, le=1000, description="How many, 1-1000, newest first.")]
TtlDays = Annotated[int, Field(ge=1, le=3650, description="Days raw messages are kept, 1-3650.")]
MinScore = Annotated[float, Field(ge=0, le=1, description="Drop results scoring below this relevance (0-1).")]
SchemaName = Annotated[str, Field(min_length=1, max_length=128, description="Schema name, e.g. '用户基础画像'.")]
SchemaDescription = Annotated[str, Field(max_length=2000, description="What the profile is for.")]
#: At most this many attributes per profile schema.
MAX_PROFILE_ATTRIBUTES = 100
