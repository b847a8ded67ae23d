"""The extraction contract (DESIGN §5).

An ``Extractor`` reads new conversation messages, with the store's strategies and the relevant existing
memories of the scope, and proposes candidate memories. Consolidation (``consolidation.py``) then decides
per candidate: ADD, UPDATE an existing memory, DELETE one the conversation retracts, or NONE. An extractor
backed by an LLM may also make those decisions itself (``reconcile``); existing memories are shown to it
under short local ids ("m1", "m2", ...), never raw UUIDs it could invent.

With a profile schema (``ExtractionInput.profile``), an extractor also proposes ``ProfileUpdate``s: the new
value of an attribute, written in full (a multi-valued attribute such as hobbies merges the current value
with the new one), or a request to clear it. ``profiles.py`` consolidates them per attribute with history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from ..errors import ExtractionError

__all__ = [
    "BUILTIN_DESCRIPTIONS",
    "BUILTIN_STRATEGIES",
    "SUMMARY_TYPE",
    "CandidateMemory",
    "ExistingMemory",
    "ExtractionError",
    "ExtractionInput",
    "ExtractionResult",
    "ExtractMessage",
    "Extractor",
    "ProfileAttributeSpec",
    "ProfileSpec",
    "ProfileUpdate",
    "ReconcileDecision",
    "StrategySpec",
]

#: The built-in kind of a running summary (one memory per run, rewritten as the conversation goes on).
SUMMARY_TYPE = "summary"

#: The built-in strategies, each with what it extracts; a memory's ``type`` is the strategy that produced it.
BUILTIN_DESCRIPTIONS: dict[str, str] = {
    "fact": "Lasting facts about the user: identity, location, work, family, pets, health, plans and reminders.",
    "preference": "What the user likes, dislikes or prefers (explicit or implicit), with the evidence.",
    "episodic": "What happened in the conversation: events and tasks, with dates.",
    SUMMARY_TYPE: "A running summary of the conversation (one memory per run, updated as it goes).",
    "profile": "Stable profile attributes of the user (name, age, occupation, languages).",
    "tool": "Tool experience: tool name, outcome, success or failure, and the lesson learned.",
}
BUILTIN_STRATEGIES: tuple[str, ...] = tuple(BUILTIN_DESCRIPTIONS)


class ExtractMessage(BaseModel):
    """One stored message, as the extractor sees it."""

    id: str
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    created_at: datetime


class StrategySpec(BaseModel):
    """What to extract: a built-in strategy or a store's custom one."""

    name: str = Field(
        description="Becomes the memory's type: fact, preference, episodic, summary, profile, tool, or custom."
    )
    type: str = Field(default="fact", description="The built-in kind it behaves like.")
    description: str = ""
    extraction_prompt: str = ""
    update_prompt: str = ""


class ExistingMemory(BaseModel):
    """A memory already known for the scope, under a short local id."""

    short_id: str = Field(description="m1, m2, ...: local to one extraction call.")
    text: str
    type: str


class CandidateMemory(BaseModel):
    """A memory the extractor proposes."""

    text: str = Field(min_length=1, description="Self-contained, in the conversation's language, third person.")
    type: str = Field(description="The strategy that produced it.")
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    source_message_ids: list[str] = Field(default_factory=list, description="Ids of the messages it came from.")
    reasoning: str | None = Field(
        default=None, description="Why (preferences: explicit or implicit, and the evidence)."
    )
    key: str | None = Field(
        default=None,
        description="A stable slot for single-valued facts (e.g. 'drink', 'home_city', 'name', 'employer'): a new "
        "value for the same key replaces the old memory.",
    )
    retracts: bool = Field(
        default=False, description='True when the user asks to forget or withdraws something ("forget my address").'
    )
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


class ReconcileDecision(BaseModel):
    """An extractor's decision for one candidate against the existing memories."""

    candidate: int = Field(ge=0, description="Index of the candidate.")
    action: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    target: str | None = Field(default=None, description="short_id of the existing memory for UPDATE/DELETE/NONE.")
    text: str | None = Field(default=None, description="The merged text for UPDATE (default: the candidate's text).")


class ProfileAttributeSpec(BaseModel):
    """One attribute of the profile schema passed to add_memories, with the user's current value."""

    attribute_id: str
    name: str
    description: str = ""
    current_value: str | None = Field(default=None, description="What the profile holds now; None when unknown.")


class ProfileSpec(BaseModel):
    """The profile schema to fill from the conversation."""

    profile_schema_id: str
    name: str
    description: str = ""
    attributes: list[ProfileAttributeSpec]


class ProfileUpdate(BaseModel):
    """A new value for one profile attribute (the whole value, not a diff), or a request to clear it."""

    attribute_id: str = Field(description="An attribute_id of ExtractionInput.profile.")
    value: str | None = Field(default=None, description="The attribute's new value, in the conversation's language.")
    clear: bool = Field(default=False, description='True when the user withdraws the value ("forget my address").')
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    source_message_ids: list[str] = Field(default_factory=list, description="Ids of the messages it came from.")
    reasoning: str | None = None


class ExtractionInput(BaseModel):
    messages: list[ExtractMessage]
    strategies: list[StrategySpec]
    existing: list[ExistingMemory] = Field(default_factory=list)
    now: datetime
    #: The profile schema to fill, when add_memories named one.
    profile: ProfileSpec | None = None
    summaries: dict[str, str] = Field(
        default_factory=dict,
        description="The run's current running summary per summary-type strategy (by strategy name). A "
        "summary candidate rewrites it to cover the new messages too; the service makes it an UPDATE.",
    )


class ExtractionResult(BaseModel):
    candidates: list[CandidateMemory] = Field(default_factory=list)
    #: Set only by extractors that reconcile themselves; otherwise consolidation uses thresholds.
    decisions: list[ReconcileDecision] | None = None
    #: Profile attribute updates (only when ExtractionInput.profile was given).
    profile_updates: list[ProfileUpdate] = Field(default_factory=list)
    extractor: str
    model: str | None = None


@runtime_checkable
class Extractor(Protocol):
    """Proposes memories from messages. Blocking; runs in a worker thread or job."""

    name: str
    model: str | None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        """Return candidates (and, optionally, decisions and profile updates). Raise ExtractionError on failure."""
        ...
