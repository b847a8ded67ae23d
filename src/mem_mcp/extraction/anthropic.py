"""The Claude-backed extractor: one Messages API call per extraction, answered through a forced tool.

``AnthropicExtractor`` is the only module that imports ``anthropic``. It sends a fixed system prompt
(cached), the store's strategies, the existing memories under short ids (m1, m2, ...) and the new
messages under indexes ([0], [1], ...), and, with a profile schema, the attributes to fill under
short ids (a1, a2, ...) with their current values; it forces the model to call the single tool
``record_memories``, which answers memories, decisions and profile values in one call. The tool's input is validated with pydantic, never parsed from free text, then
checked against the request: candidate types must be requested strategies, message indexes and short
ids must exist, decisions must point at real candidates. Indexes are mapped back to message ids here,
so the model never has to copy (or can invent) a UUID.

Failures all become ``ExtractionError`` (code ``EXTRACTION_FAILED``): the messages are stored before
extraction runs, so every failure message says the job can be retried.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from .base import (
    CandidateMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    ProfileUpdate,
    ReconcileDecision,
    StrategySpec,
)

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam, TextBlockParam, ToolParam

__all__ = [
    "DEFAULT_MODEL",
    "MAX_TOKENS",
    "SYSTEM_PROMPT",
    "TOOL_NAME",
    "AnthropicExtractor",
    "CandidateOut",
    "DecisionOut",
    "ExtractionAnswer",
    "ProfileValueOut",
    "build_tool",
    "build_user_prompt",
]

log = logging.getLogger(__name__)

#: A current fast Claude model; extraction is high-volume and latency-tolerant, so speed and price win.
DEFAULT_MODEL = "claude-haiku-4-5"
TOOL_NAME = "record_memories"
#: Enough for a few dozen memories with reasoning; an answer cut off here is rejected, not half-used.
MAX_TOKENS = 8192

_RETRY_HINT = "The messages are kept; the extraction job can be retried."
_TEXT_LIMIT = 1500  # how much of a model answer or validation report goes into an error message

_NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CandidateOut(BaseModel):
    """One memory as the model writes it (tool input)."""

    text: _NonEmpty = Field(
        description="One self-contained sentence about the user, in the conversation's language, third person "
        "('用户…' / 'The user …'), with relative dates resolved to absolute dates."
    )
    type: _NonEmpty = Field(description="The name of the strategy that produced it (one of the requested strategies).")
    confidence: float = Field(ge=0.0, le=1.0, description="0.0 to 1.0: how sure it is that this is true and lasting.")
    source_messages: list[int] = Field(
        description="Indexes of the messages it comes from: the numbers in [n] before each message."
    )
    reasoning: str | None = Field(
        default=None,
        description="Why. Required for preferences: 'explicit' or 'implicit', and the evidence from the conversation.",
    )
    key: str | None = Field(
        default=None,
        description="A stable slot for single-valued facts in snake_case English (e.g. 'drink', 'home_city', "
        "'name', 'employer'); omit otherwise.",
    )
    retracts: bool = Field(
        default=False,
        description="True when the user asks to forget or withdraws something ('forget my address').",
    )


class DecisionOut(BaseModel):
    """What to do with one candidate, given the existing memories (tool input)."""

    candidate: int = Field(ge=0, description="0-based index of the candidate in `memories`.")
    action: Literal["ADD", "UPDATE", "DELETE", "NONE"] = Field(
        description="ADD: new. UPDATE: corrects or changes an existing memory. DELETE: an existing memory is "
        "retracted or contradicted. NONE: already known."
    )
    target: str | None = Field(
        default=None,
        description="Short id (m1, m2, ...) of the existing memory; required for UPDATE and DELETE, usual for NONE.",
    )
    text: str | None = Field(
        default=None, description="For UPDATE: the merged text that replaces the existing memory."
    )


class ProfileValueOut(BaseModel):
    """A new value for one profile attribute (tool input)."""

    attribute: _NonEmpty = Field(description="Short id of the attribute (a1, a2, ...) from <profile_attributes>.")
    value: str | None = Field(
        default=None,
        description="The attribute's complete new value, short, in the conversation's language (e.g. '28岁', "
        "'软件工程师', 'Berlin'); for an attribute that holds several things, the current value merged with the new.",
    )
    clear: bool = Field(default=False, description="True when the user withdraws the value; omit value then.")
    confidence: float = Field(default=0.8, ge=0.0, le=1.0)
    source_messages: list[int] = Field(default_factory=list, description="Indexes [n] of the messages it comes from.")


class ExtractionAnswer(BaseModel):
    """The whole answer: the tool's input schema."""

    memories: list[CandidateOut] = Field(description="Candidate memories; empty when there is nothing to remember.")
    decisions: list[DecisionOut] = Field(
        description="At least one decision per candidate, comparing it with the existing memories."
    )
    profile: list[ProfileValueOut] = Field(
        default_factory=list,
        description="Profile attributes the conversation gives a new value for; empty when there are no "
        "<profile_attributes> or nothing new about them.",
    )


SYSTEM_PROMPT = """\
You are the memory extractor of a long-term memory service for an AI assistant. You read new \
messages of a conversation between a user and an assistant and record what is worth remembering \
about the USER for future conversations. You answer only by calling the record_memories tool, once.

## What to extract
Only what the requested strategies ask for (they are listed in the request, each with a name, the \
built-in kind it behaves like, and optionally its own instructions). The built-in kinds:
- fact: lasting facts about the user: identity, family, home, work, possessions, health, plans, \
commitments, reminders and appointments they asked for.
- preference: likes, dislikes, habits, wishes, how they want things done.
- episodic: notable events the user experienced or did, with when they happened.
- summary: a short summary of what the conversation established.
- profile: stable profile attributes (name, age, location, occupation, languages).
- tool: lessons about tools: what worked, what failed and why, how the user wants a tool used.
A custom strategy's own instructions take precedence over these descriptions.

Skip greetings, small talk, thanks, questions without lasting content, and anything the assistant \
said that the user did not confirm. Never record the assistant's own opinions or offers as facts \
about the user. When nothing is worth remembering, call the tool with empty lists.

## How to write a memory
- One self-contained sentence that is understandable without the conversation: no "he", "it", \
"that place" without saying who or what.
- In the conversation's language: Chinese in, Chinese out; English in, English out.
- In the third person: "用户…" in Chinese, "The user …" in English.
- Resolve relative dates and times ("明天", "下周五", "tomorrow", "next Friday", "in two hours") \
against the timestamp of the message that says them, and write absolute dates (2025-06-13); keep \
recurring schedules as schedules ("每天上午11点", "every Monday at 9:00").
- type: the name of the strategy that produced it, exactly as listed in the request.
- confidence: 0.9-1.0 for what the user states plainly, 0.6-0.8 for what is implied, lower for \
guesses.
- source_messages: the [n] indexes of the messages it comes from.
- reasoning: required for preferences: "explicit" or "implicit", and the evidence.
- key: for single-valued facts (name, home_city, employer, drink, ...) a short snake_case English \
slot name, so that a new value replaces the old one; omit it for everything else.
- retracts: true when the user withdraws something or asks to forget it ("忘掉我的地址", "forget \
my address"); the memory then says what is withdrawn ("用户要求忘掉其住址。").

## Decisions
Then compare each candidate with the EXISTING memories listed in the request under short ids (m1, \
m2, ...) and give at least one decision per candidate, by its 0-based index in memories:
- ADD: new information, not in any existing memory.
- UPDATE: it corrects, refines or changes an existing memory: target = that memory's short id, text \
= the merged memory as it should now read (one sentence, same rules as above).
- DELETE: an existing memory is retracted ("forget …") or contradicted and the candidate does not \
replace it: target = its short id.
- NONE: already known: target = the short id of the memory that already says it.
Only use short ids from the list; never invent one. A candidate that replaces an old value of the \
same slot is an UPDATE of that memory, not an ADD. A retraction is a DELETE of the memory it \
withdraws (or NONE when there is none).

## User profile
When the request lists <profile_attributes> (short ids a1, a2, ..., each with a name, a description \
and the current value), also fill `profile` with the attributes that these messages give a value \
for, from what the USER says about themselves:
- value: short and factual, in the conversation's language, in the user's words where possible \
("28岁", "软件工程师", "踢足球", "上海"; "28", "software engineer", "Berlin"); no full sentences.
- A new value replaces the current one (a move replaces the residence). For an attribute that holds \
several things (hobbies, pets, family members, languages, ...), give the current value merged with \
the new one ("踢足球、游泳").
- clear: true (and no value) when the user withdraws it or asks to forget it.
- Leave out attributes the messages say nothing new about, and never guess: no value is better than \
a wrong one. An attribute whose value would not change is left out."""


def build_tool() -> ToolParam:
    """The ``record_memories`` tool definition (fixed, so that it caches with the system prompt)."""
    return {
        "name": TOOL_NAME,
        "description": "Record the memories extracted from the conversation and the decision for each one "
        "against the existing memories. Call it exactly once, with empty lists when there is nothing to remember.",
        "input_schema": ExtractionAnswer.model_json_schema(),
        # Tools come first in the cache prefix: a breakpoint here lets the tool definition be reused
        # even by requests whose system prompt would differ.
        "cache_control": {"type": "ephemeral"},
    }


def _when(moment: datetime) -> str:
    # The weekday is spelled out because "next Friday" cannot be resolved from a bare date reliably.
    return f"{moment.isoformat(timespec='minutes')} ({moment.strftime('%A')})"


def _strategy_block(strategy: StrategySpec) -> str:
    lines = [f"- name: {strategy.name} (behaves like: {strategy.type})"]
    for label, value in (
        ("description", strategy.description),
        ("extraction instructions", strategy.extraction_prompt),
        ("update instructions", strategy.update_prompt),
    ):
        if value.strip():
            lines.append(f"  {label}: {_indent(value.strip())}")
    return "\n".join(lines)


def _indent(text: str) -> str:
    # Continuation lines are indented so a multi-line message can never look like a new [n] entry.
    return text.replace("\r\n", "\n").replace("\n", "\n    ")


def _profile_block(data: ExtractionInput) -> str:
    if data.profile is None:
        return ""
    lines = []
    for i, attr in enumerate(data.profile.attributes):
        line = f"a{i + 1} {attr.name}"
        if attr.description.strip():
            line += f" — {_indent(attr.description.strip())}"
        line += f" (current: {_indent(attr.current_value) if attr.current_value is not None else 'unknown'})"
        lines.append(line)
    return "<profile_attributes>\n" + "\n".join(lines) + "\n</profile_attributes>\n\n"


def build_user_prompt(data: ExtractionInput) -> str:
    """The variable part of the request: time, strategies, existing memories, profile attributes, messages."""
    strategies = "\n".join(_strategy_block(s) for s in data.strategies)
    if data.existing:
        existing = "\n".join(f"{m.short_id} [{m.type}] {_indent(m.text)}" for m in data.existing)
    else:
        existing = "(none)"
    messages = "\n".join(
        f"[{i}] {_when(m.created_at)} {m.role}: {_indent(m.content)}" for i, m in enumerate(data.messages)
    )
    names = ", ".join(s.name for s in data.strategies)
    profile = " and fill the profile attributes the messages give a new value for," if data.profile else ""
    return (
        f"<now>{_when(data.now)}</now>\n\n"
        f"<strategies>\n{strategies}\n</strategies>\n\n"
        f"<existing_memories>\n{existing}\n</existing_memories>\n\n"
        f"{_profile_block(data)}"
        f"<messages>\n{messages}\n</messages>\n\n"
        f"Extract the memories about the user from these messages for the strategies {names} (use exactly "
        f"these names as types), decide each one against the existing memories,{profile} and call {TOOL_NAME}."
    )


def _retries(n: int) -> str:
    return f"{n} retry" if n == 1 else f"{n} retries"


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "…"


class AnthropicExtractor:
    """Extracts memories with Claude through the Messages API (tool use, prompt caching).

    ``api_key`` is required unless ``client`` is given; ``base_url`` defaults to ``ANTHROPIC_BASE_URL``
    (read by the SDK itself), then the public API. The SDK retries 408/409/429/5xx (529 included),
    connection errors and timeouts ``max_retries`` times with backoff (honouring ``retry-after``);
    ``timeout`` is per attempt, in seconds. A given ``client`` is used as is (its own retries and
    timeout apply).
    """

    name = "anthropic"

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        max_retries: int = 4,
        timeout: float = 60.0,
        client: anthropic.Anthropic | None = None,
    ) -> None:
        self.model: str = model
        self._owns_client = client is None
        if client is None:
            if not api_key or not api_key.strip():
                raise ExtractionError(
                    "No Anthropic API key: set ANTHROPIC_API_KEY to use the anthropic extractor.", field="api_key"
                )
            # Imported here: the SDK takes about a second to import, and most runs never extract.
            import anthropic

            client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=max_retries, timeout=timeout)
        self._client = client
        self._tool = build_tool()

    @property
    def client(self) -> anthropic.Anthropic:
        return self._client

    def close(self) -> None:
        """Release the HTTP connections of a client this extractor created."""
        if self._owns_client:
            self._client.close()

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        """One Messages API call; see the module docstring. Raises ``ExtractionError``."""
        if not data.messages or not (data.strategies or data.profile):
            # Nothing could be extracted, so the call (and its cost) is skipped.
            return ExtractionResult(candidates=[], decisions=None, extractor=self.name, model=self.model)
        message = self._call(build_user_prompt(data))
        answer = self._answer(message)
        return self._check(answer, data)

    # -- the call ---------------------------------------------------------------------------------

    def _call(self, prompt: str) -> Message:
        import anthropic

        system: list[TextBlockParam] = [
            {"type": "text", "text": SYSTEM_PROMPT, "cache_control": {"type": "ephemeral"}}
        ]
        messages: list[MessageParam] = [{"role": "user", "content": prompt}]
        try:
            message = self._client.messages.create(
                model=self.model,
                max_tokens=MAX_TOKENS,
                system=system,
                tools=[self._tool],
                tool_choice={"type": "tool", "name": TOOL_NAME},
                messages=messages,
            )
        except anthropic.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except anthropic.APITimeoutError as exc:
            raise ExtractionError(
                f"The Anthropic API did not answer in time (timeout {self._timeout_s()}, "
                f"{_retries(self._client.max_retries)}). {_RETRY_HINT}",
                reason="timeout",
            ) from exc
        except anthropic.APIConnectionError as exc:
            raise ExtractionError(
                f"Could not reach the Anthropic API at {self._client.base_url} ({exc.__cause__ or exc}; "
                f"{_retries(self._client.max_retries)}). Check the network and ANTHROPIC_BASE_URL. {_RETRY_HINT}",
                reason="connection",
            ) from exc
        except anthropic.AnthropicError as exc:
            raise ExtractionError(f"The Anthropic API call failed: {exc}. {_RETRY_HINT}", reason="api") from exc
        usage = message.usage
        # Worth watching: a prefix under the model's minimum (4096 tokens for Haiku 4.5) is not cached.
        log.debug(
            "anthropic extraction: %s input, %s cache read, %s cache write, %s output tokens",
            usage.input_tokens,
            usage.cache_read_input_tokens,
            usage.cache_creation_input_tokens,
            usage.output_tokens,
        )
        return message

    def _timeout_s(self) -> str:
        timeout = self._client.timeout
        read = getattr(timeout, "read", timeout)
        return f"{read:g} s" if isinstance(read, int | float) else str(timeout)

    def _status_error(self, exc: anthropic.APIStatusError) -> ExtractionError:
        status = exc.status_code
        what = exc.api_message or str(exc.body or exc.message)
        details: dict[str, Any] = {"status": status, "reason": exc.type or "api_error"}
        if exc.request_id:
            details["request_id"] = exc.request_id
        retries = _retries(self._client.max_retries)
        if status == 401:
            text = f"The Anthropic API rejected the API key (401: {what}). Check ANTHROPIC_API_KEY."
        elif status == 403:
            text = f"The Anthropic API key may not do this (403: {what}). Check ANTHROPIC_API_KEY and its permissions."
        elif status == 404:
            text = f"The Anthropic API does not know this (404: {what}). Check the model name '{self.model}'."
        elif status == 429:
            text = f"The Anthropic API kept rate limiting the request (429: {what}) after {retries}."
        elif status == 529:
            text = f"The Anthropic API is overloaded (529: {what}) and stayed so after {retries}."
        elif status >= 500:
            text = f"The Anthropic API failed ({status}: {what}) and kept failing after {retries}."
        else:
            text = f"The Anthropic API refused the request ({status}: {what})."
        return ExtractionError(f"{_clip(text)} {_RETRY_HINT}", **details)

    # -- the answer -------------------------------------------------------------------------------

    def _answer(self, message: Message) -> ExtractionAnswer:
        stop = message.stop_reason
        if stop == "max_tokens":
            # A cut-off tool input may still validate, with memories silently missing: never use it.
            raise self._invalid(f"it was cut off at max_tokens={MAX_TOKENS} (too many messages at once?)")
        block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            said = " ".join(b.text for b in message.content if b.type == "text")
            raise self._invalid(
                f"it did not call {TOOL_NAME} (stop_reason={stop}"
                + (f", text: {_clip(said.strip())!r})" if said.strip() else ")")
            )
        raw: dict[str, object] = dict(block.input)
        for field in ("memories", "decisions", "profile"):
            value = raw.get(field)
            # Models sometimes send a nested list as a JSON string; it is still the tool input.
            if isinstance(value, str):
                try:
                    raw[field] = json.loads(value)
                except ValueError:
                    pass
        try:
            return ExtractionAnswer.model_validate(raw)
        except ValidationError as exc:
            report = "; ".join(
                f"{'.'.join(str(part) for part in e['loc']) or '(input)'}: {e['msg']}"
                for e in exc.errors(include_url=False, include_input=False)
            )
            raise self._invalid(f"its tool input failed validation: {_clip(report)}") from exc

    def _invalid(self, why: str, **details: Any) -> ExtractionError:
        text = f"The model's answer was invalid: {why}. {_RETRY_HINT}"
        return ExtractionError(text, reason="invalid_answer", **details)

    def _check(self, answer: ExtractionAnswer, data: ExtractionInput) -> ExtractionResult:
        """Map indexes back to ids and reject references to things that do not exist."""
        strategies = {s.name.casefold(): s.name for s in data.strategies}
        short_ids = {m.short_id.casefold(): m.short_id for m in data.existing}
        n_messages = len(data.messages)

        candidates: list[CandidateMemory] = []
        kept: dict[int, int] = {}  # index in the answer -> index in the result
        for i, out in enumerate(answer.memories):
            kind = strategies.get(out.type.casefold())
            if kind is None:
                # Dropped, not an error: the store did not ask for this kind, and the rest of the
                # answer is still good. Its decisions are dropped with it.
                log.info("anthropic extraction: dropped a %r candidate (not a requested strategy)", out.type)
                continue
            bad = [j for j in out.source_messages if not 0 <= j < n_messages]
            if bad:
                raise self._invalid(f"memories[{i}] cites messages {bad}, but only [0]..[{n_messages - 1}] exist")
            sources = list(dict.fromkeys(data.messages[j].id for j in out.source_messages))
            kept[i] = len(candidates)
            candidates.append(
                CandidateMemory(
                    text=out.text,
                    type=kind,
                    confidence=out.confidence,
                    source_message_ids=sources,
                    reasoning=(out.reasoning or "").strip() or None,
                    key=(out.key or "").strip() or None,
                    retracts=out.retracts,
                )
            )

        profile_updates = self._profile_updates(answer, data)
        if not answer.decisions:
            # No reconciling at all: consolidation decides by similarity thresholds instead.
            return ExtractionResult(
                candidates=candidates, decisions=None, extractor=self.name, model=self.model,
                profile_updates=profile_updates,
            )

        decisions: list[ReconcileDecision] = []
        for k, d in enumerate(answer.decisions):
            if d.candidate >= len(answer.memories):
                raise self._invalid(
                    f"decisions[{k}] refers to candidate {d.candidate}, but there are {len(answer.memories)} memories"
                )
            target: str | None = None
            # Models write "none"/"null" for "no target" now and then; that is not a reference.
            if d.target is not None and d.target.strip().casefold() not in ("", "none", "null"):
                target = short_ids.get(d.target.strip().casefold())
                if target is None:
                    known = ", ".join(m.short_id for m in data.existing) or "none"
                    raise self._invalid(
                        f"decisions[{k}] targets unknown memory {d.target!r} (existing short ids: {known})"
                    )
            if d.action in ("UPDATE", "DELETE") and target is None:
                raise self._invalid(f"decisions[{k}] is {d.action} without a target short id")
            if d.candidate not in kept:
                continue
            decisions.append(
                ReconcileDecision(
                    candidate=kept[d.candidate],
                    action=d.action,
                    # An ADD replaces nothing; a stray target would only mislead consolidation.
                    target=None if d.action == "ADD" else target,
                    text=((d.text or "").strip() or None) if d.action == "UPDATE" else None,
                )
            )
        decided = {d.candidate for d in decisions}
        undecided = [i for i, r in kept.items() if r not in decided]
        if undecided:
            raise self._invalid(f"no decision for memories {undecided}")
        return ExtractionResult(
            candidates=candidates, decisions=decisions, extractor=self.name, model=self.model,
            profile_updates=profile_updates,
        )

    def _profile_updates(self, answer: ExtractionAnswer, data: ExtractionInput) -> list[ProfileUpdate]:
        """Map attribute short ids (or, leniently, exact attribute names) back to attribute ids."""
        if not answer.profile:
            return []
        if data.profile is None:
            log.info("anthropic extraction: dropped %d profile values (no profile schema asked)", len(answer.profile))
            return []
        attrs = {f"a{i + 1}": a for i, a in enumerate(data.profile.attributes)}
        by_name = {a.name.casefold(): a for a in data.profile.attributes}
        n_messages = len(data.messages)
        updates: list[ProfileUpdate] = []
        for k, out in enumerate(answer.profile):
            ref = out.attribute.strip()
            attr = attrs.get(ref.casefold()) or by_name.get(ref.casefold())
            if attr is None:
                known = ", ".join(attrs) or "none"
                raise self._invalid(f"profile[{k}] names unknown attribute {ref!r} (attribute short ids: {known})")
            bad = [j for j in out.source_messages if not 0 <= j < n_messages]
            if bad:
                raise self._invalid(f"profile[{k}] cites messages {bad}, but only [0]..[{n_messages - 1}] exist")
            value = (out.value or "").strip() or None
            if value is None and not out.clear:
                log.info("anthropic extraction: profile[%d] for %s has no value; dropped", k, attr.name)
                continue
            updates.append(
                ProfileUpdate(
                    attribute_id=attr.attribute_id,
                    value=None if out.clear else value,
                    clear=out.clear,
                    confidence=out.confidence,
                    source_message_ids=list(dict.fromkeys(data.messages[j].id for j in out.source_messages)),
                )
            )
        return updates
