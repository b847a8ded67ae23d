"""What every model-backed extractor shares: the instructions, the answer schema, and the checks.

The Anthropic extractor (``anthropic.py``) and the MCP sampling extractor (``sampling.py``) send the
same instructions and read the same answer, ``ExtractionAnswer``: either as the input of the forced
tool ``record_memories`` (``parse_tool_input``), or, where a client cannot sample with tools, as one
JSON object validated with pydantic (``parse_json_answer``; never sliced out of prose). ``to_result``
then checks the answer against the request (candidate types must be requested strategies, message
indexes and short ids must exist, decisions must point at real candidates) and maps message indexes
back to ids, so the model never has to copy (or can invent) a UUID.

Every failure is an ``ExtractionError`` (code ``EXTRACTION_FAILED``) whose message says the job can be
retried: the messages are stored before extraction runs.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Mapping

from pydantic import BaseModel, Field, StringConstraints, ValidationError

from .base import (
    SUMMARY_TYPE,
    CandidateMemory,
    ExtractionError,
    ExtractionInput,
    ExtractionResult,
    ProfileUpdate,
    ReconcileDecision,
    StrategySpec,
)

__all__ = [
    "MAX_TOKENS",
    "RETRY_HINT",
    "SUMMARY_TYPE",
    "SYSTEM_PROMPT",
    "TOOL_DESCRIPTION",
    "TOOL_NAME",
    "CandidateOut",
    "DecisionOut",
    "ExtractionAnswer",
    "build_user_prompt",
    "clip",
    "invalid_answer",
    "parse_json_answer",
    "parse_tool_input",
    "system_prompt",
    "to_result",
]

log = logging.getLogger(__name__)

TOOL_NAME = "record_memories"
TOOL_DESCRIPTION = (
    "Record the memories extracted from the conversation and the decision for each one against the existing "
    "memories. Call it exactly once, with empty lists when there is nothing to remember."
)
#: Enough for a few dozen memories with reasoning; an answer cut off here is rejected, not half-used.
MAX_TOKENS = 8192

RETRY_HINT = "The messages are kept; the extraction job can be retried."
_TEXT_LIMIT = 1500  # how much of a model answer or validation report goes into an error message

_NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class CandidateOut(BaseModel):
    """One memory as the model writes it."""

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
    """What to do with one candidate, given the existing memories."""

    candidate: int = Field(ge=0, description="0-based index of the candidate in `memories`.")
    action: Literal["ADD", "UPDATE", "DELETE", "NONE"] = Field(
        description="ADD: new. UPDATE: corrects or changes an existing memory. DELETE: an existing memory is "
        "retracted or contradicted. NONE: already known."
    )
    target: str | None = Field(
        default=None,
        description="Short id (m1, m2, ...) of the existing memory; required for UPDATE and DELETE, usual for NONE.",
    )
    text: str | None = Field(default=None, description="For UPDATE: the merged text that replaces the existing memory.")


class ProfileValueOut(BaseModel):
    """A new value for one profile attribute."""

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
    """The whole answer: the tool's input schema, or the JSON object a model answers with."""

    memories: list[CandidateOut] = Field(description="Candidate memories; empty when there is nothing to remember.")
    decisions: list[DecisionOut] = Field(
        description="At least one decision per candidate, comparing it with the existing memories."
    )
    profile: list[ProfileValueOut] = Field(
        default_factory=list,
        description="Profile attributes the conversation gives a new value for; empty when there are no "
        "<profile_attributes> or nothing new about them.",
    )


_INTRO = """\
You are the memory extractor of a long-term memory service for an AI assistant. You read new \
messages of a conversation between a user and an assistant and record what is worth remembering \
about the USER for future conversations. """

_ANSWER_TOOL = "You answer only by calling the record_memories tool, once."
_ANSWER_JSON = """\
You answer with one JSON object and nothing else: no prose before or after it, no code fence. It \
must match this JSON Schema:
{schema}"""
_NOTHING_TOOL = "When nothing is worth remembering, call the tool with empty lists."
_NOTHING_JSON = 'When nothing is worth remembering, answer {"memories": [], "decisions": []}.'

_BODY = """

## What to extract
Only what the requested strategies ask for (they are listed in the request, each with a name, the \
built-in kind it behaves like, and optionally its own instructions). The built-in kinds:
- fact: lasting facts about the user: identity, family, home, work, possessions, health, plans, \
commitments, reminders and appointments they asked for.
- preference: likes, dislikes, habits, wishes, how they want things done.
- episodic: notable events the user experienced or did, with when they happened.
- summary: the running summary of this conversation: exactly one memory of that type, the previous \
summary given in <running_summary> rewritten so that it also covers the new messages (what the user \
said, asked, decided and planned; a few sentences, at most about 120 words or 300 汉字), in the \
conversation's language, in the third person. Its decision is always ADD: the service replaces the \
previous summary with it. Write none when the new messages add nothing to the summary.
- profile: stable profile attributes (name, age, location, occupation, languages).
- tool: lessons about tools: what worked, what failed and why, how the user wants a tool used.
A custom strategy's own instructions take precedence over these descriptions.

Skip greetings, small talk, thanks, questions without lasting content, and anything the assistant \
said that the user did not confirm. Never record the assistant's own opinions or offers as facts \
about the user. {nothing}

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


def system_prompt(answer: Literal["tool", "json"] = "tool") -> str:
    """The fixed instructions: answer through the ``record_memories`` tool, or as one JSON object."""
    if answer == "tool":
        return _INTRO + _ANSWER_TOOL + _BODY.replace("{nothing}", _NOTHING_TOOL)
    schema = json.dumps(ExtractionAnswer.model_json_schema(), ensure_ascii=False, separators=(",", ":"))
    return _INTRO + _ANSWER_JSON.replace("{schema}", schema) + _BODY.replace("{nothing}", _NOTHING_JSON)


#: The tool-use instructions (fixed, so that they cache as a prefix).
SYSTEM_PROMPT = system_prompt("tool")


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


def _summary_blocks(data: ExtractionInput) -> str:
    blocks = []
    for s in data.strategies:
        if s.type == SUMMARY_TYPE:
            previous = data.summaries.get(s.name, "").strip() or "(none yet: write the first summary)"
            blocks.append(f'<running_summary strategy="{s.name}">\n{_indent(previous)}\n</running_summary>\n\n')
    return "".join(blocks)


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


def build_user_prompt(data: ExtractionInput, answer: Literal["tool", "json"] = "tool") -> str:
    """The variable part of the request: time, strategies, running summary, existing memories, profile
    attributes, messages."""
    strategies = "\n".join(_strategy_block(s) for s in data.strategies)
    if data.existing:
        existing = "\n".join(f"{m.short_id} [{m.type}] {_indent(m.text)}" for m in data.existing)
    else:
        existing = "(none)"
    messages = "\n".join(
        f"[{i}] {_when(m.created_at)} {m.role}: {_indent(m.content)}" for i, m in enumerate(data.messages)
    )
    names = ", ".join(s.name for s in data.strategies)
    finish = f"call {TOOL_NAME}" if answer == "tool" else "answer with the JSON object only"
    profile = " fill the profile attributes the messages give a new value for," if data.profile else ""
    return (
        f"<now>{_when(data.now)}</now>\n\n"
        f"<strategies>\n{strategies}\n</strategies>\n\n"
        f"{_summary_blocks(data)}"
        f"<existing_memories>\n{existing}\n</existing_memories>\n\n"
        f"{_profile_block(data)}"
        f"<messages>\n{messages}\n</messages>\n\n"
        f"Extract the memories about the user from these messages for the strategies {names} (use exactly "
        f"these names as types), decide each one against the existing memories,{profile} and {finish}."
    )


def clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "…"


def invalid_answer(why: str, **details: Any) -> ExtractionError:
    """The error for an answer that cannot be used (the job stays retryable)."""
    return ExtractionError(f"The model's answer was invalid: {why}. {RETRY_HINT}", reason="invalid_answer", **details)


def _report(exc: ValidationError) -> str:
    return clip(
        "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(input)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
    )


def parse_tool_input(raw: Mapping[str, Any]) -> ExtractionAnswer:
    """Validate the input of a ``record_memories`` tool call."""
    data: dict[str, Any] = dict(raw)
    for field in ("memories", "decisions", "profile"):
        value = data.get(field)
        # Models sometimes send a nested list as a JSON string; it is still the tool input.
        if isinstance(value, str):
            try:
                data[field] = json.loads(value)
            except ValueError:
                pass
    try:
        return ExtractionAnswer.model_validate(data)
    except ValidationError as exc:
        raise invalid_answer(f"its tool input failed validation: {_report(exc)}") from exc


# The whole answer as one fenced block (```json ... ```): a frame some models always add. Only a fence
# around the entire text is removed; JSON is never searched for inside prose.
_FENCED = re.compile(r"\A\s*```(?:json)?[ \t]*\n(?P<body>.*)\n[ \t]*```\s*\Z", re.S)


def parse_json_answer(text: str) -> ExtractionAnswer:
    """Validate a text answer that must be exactly one ``ExtractionAnswer`` JSON object."""
    fenced = _FENCED.match(text)
    body = fenced.group("body") if fenced else text
    try:
        return ExtractionAnswer.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_answer(
            f"it is not the JSON object asked for ({_report(exc)}); it said: {clip(text.strip())!r}"
        ) from exc


def to_result(answer: ExtractionAnswer, data: ExtractionInput, extractor: str, model: str | None) -> ExtractionResult:
    """Check an answer against its request, map message indexes back to ids; raise when it refers to
    things that do not exist."""
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
            log.info("%s extraction: dropped a %r candidate (not a requested strategy)", extractor, out.type)
            continue
        bad = [j for j in out.source_messages if not 0 <= j < n_messages]
        if bad:
            raise invalid_answer(f"memories[{i}] cites messages {bad}, but only [0]..[{n_messages - 1}] exist")
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

    profile_updates = _profile_updates(answer, data, extractor)
    if not answer.decisions:
        # No reconciling at all: consolidation decides by similarity thresholds instead.
        return ExtractionResult(
            candidates=candidates, decisions=None, extractor=extractor, model=model, profile_updates=profile_updates
        )

    decisions: list[ReconcileDecision] = []
    for k, d in enumerate(answer.decisions):
        if d.candidate >= len(answer.memories):
            raise invalid_answer(
                f"decisions[{k}] refers to candidate {d.candidate}, but there are {len(answer.memories)} memories"
            )
        target: str | None = None
        # Models write "none"/"null" for "no target" now and then; that is not a reference.
        if d.target is not None and d.target.strip().casefold() not in ("", "none", "null"):
            target = short_ids.get(d.target.strip().casefold())
            if target is None:
                known = ", ".join(m.short_id for m in data.existing) or "none"
                raise invalid_answer(
                    f"decisions[{k}] targets unknown memory {d.target!r} (existing short ids: {known})"
                )
        if d.action in ("UPDATE", "DELETE") and target is None:
            raise invalid_answer(f"decisions[{k}] is {d.action} without a target short id")
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
        raise invalid_answer(f"no decision for memories {undecided}")
    return ExtractionResult(
        candidates=candidates, decisions=decisions, extractor=extractor, model=model, profile_updates=profile_updates
    )


def _profile_updates(answer: ExtractionAnswer, data: ExtractionInput, extractor: str) -> list[ProfileUpdate]:
    """Map attribute short ids (or, leniently, exact attribute names) back to attribute ids."""
    if not answer.profile:
        return []
    if data.profile is None:
        log.info("%s extraction: dropped %d profile values (no profile schema asked)", extractor, len(answer.profile))
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
            raise invalid_answer(f"profile[{k}] names unknown attribute {ref!r} (attribute short ids: {known})")
        bad = [j for j in out.source_messages if not 0 <= j < n_messages]
        if bad:
            raise invalid_answer(f"profile[{k}] cites messages {bad}, but only [0]..[{n_messages - 1}] exist")
        value = (out.value or "").strip() or None
        if value is None and not out.clear:
            log.info("%s extraction: profile[%d] for %s has no value; dropped", extractor, k, attr.name)
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
