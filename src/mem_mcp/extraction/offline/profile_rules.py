"""Profile attributes without an LLM: rules that fill a schema's attributes from what the user says.

What an attribute means comes from ``mem_mcp.profile_concepts``. ``profile_updates`` reads the user's
turns (split into clauses as the offline extractor splits them) and matches first-person statements:
"我今年28岁" -> age 28岁, "是一名软件工程师" -> occupation 软件工程师, "周末喜欢踢足球" -> hobbies 踢足球,
"我搬到上海了" -> residence 上海, "I have a dog named Max" -> pets "a dog named Max". Values are kept in the
words and language the user used.
Single-valued attributes take the newest value; multi-valued ones (hobbies, pets, family, languages,
allergies, health, diet) add to the current value ("踢足球" then "游泳" -> "踢足球、游泳"). A request to forget
("忘掉我的地址", "清除我的住址", "please wipe my address"; the grammar of ``lexicon``, shared with memory
retractions) clears the attribute it names. An age also fills an age-group attribute
(28 -> 青年 / young adult) when nothing more specific is known.

Limits: only what the patterns cover, first person only, no inference across sentences; attributes
whose meaning is not in ``CONCEPTS`` (近期活动, 人生理想, ...) are left to an LLM extractor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from ...profile_concepts import Concept, concept_of, name_key
from ..base import ExtractMessage, ProfileAttributeSpec, ProfileSpec, ProfileUpdate
from .lexicon import Lang, forget_target
from .profile_patterns import Finding, findings
from .text import split_sentences

__all__ = ["profile_updates"]


# When the schema has no attribute for a finding's concept, the next one that fits takes it, reworded.
_FALLBACKS: dict[str, list[tuple[str, str, str]]] = {
    "allergies": [("health", "对{v}过敏", "allergic to {v}"), ("diet", "对{v}过敏", "allergic to {v}")],
    "employer": [("occupation", "在{v}工作", "works at {v}")],
    "nickname": [("name", "{v}", "{v}")],
}


# --------------------------------------------------------------------------------------------------
# Putting findings on the schema's attributes.


def _parts(value: str) -> list[str]:
    return [p.strip().casefold() for p in re.split(r"[、,，;；/]|\s+and\s+|和|及|以及", value) if p.strip()]


def _merge(current: str | None, new: str) -> str:
    """Add a value to a multi-valued attribute unless it is already there."""
    if not current:
        return new
    have = current.casefold()
    if new.casefold() in have or all(p in have for p in _parts(new)):
        return current
    sep = "、" if re.search(r"[\u4e00-\u9fff]", current + new) else ", "
    return f"{current}{sep}{new}"


@dataclass
class _Slot:
    attribute: ProfileAttributeSpec
    concept: Concept
    value: str | None
    sources: list[str]
    confidence: float = 0.0
    touched: bool = False
    stated: bool = False  # a stated (not derived) value was found in this conversation


def _target(what: str, slots: list[_Slot]) -> _Slot | None:
    key = name_key(what)
    for slot in slots:
        if name_key(slot.attribute.name) == key:
            return slot
    concept = concept_of(what)
    if concept is None:
        return None
    return next((s for s in slots if s.concept.key == concept.key), None)


def profile_updates(messages: Iterable[ExtractMessage], profile: ProfileSpec) -> list[ProfileUpdate]:
    """Profile updates from the user's turns, for the schema's attributes that the rules understand."""
    slots: list[_Slot] = []
    by_concept: dict[str, _Slot] = {}
    for attr in profile.attributes:
        concept = concept_of(attr.name, attr.description)
        if concept is None or concept.key in by_concept:
            continue
        slot = _Slot(attr, concept, attr.current_value, [])
        slots.append(slot)
        by_concept[concept.key] = slot
    if not slots:
        return []

    for msg in messages:
        if msg.role != "user":
            continue
        for sentence in split_sentences(msg.content, msg.created_at):
            for clause, question in sentence.clauses:
                forget = forget_target(clause, sentence.lang, question)
                if forget is not None:
                    slot = _target(forget, slots)
                    if slot is not None:
                        slot.value, slot.touched = None, True
                        slot.sources.append(msg.id)
                        slot.confidence = 0.9
                    continue
                if question:
                    continue
                for finding in findings(clause, sentence.lang):
                    _apply(finding, sentence.lang, by_concept, msg.id)

    updates: list[ProfileUpdate] = []
    for slot in slots:
        if not slot.touched:
            continue
        before = slot.attribute.current_value
        if slot.value is None:
            if before is not None:
                updates.append(
                    ProfileUpdate(
                        attribute_id=slot.attribute.attribute_id,
                        clear=True,
                        confidence=slot.confidence,
                        source_message_ids=slot.sources,
                        reasoning="offline rule: the user asked to forget it",
                    )
                )
        elif slot.value != before or slot.stated:  # a restated value is reported (NONE: already known)
            updates.append(
                ProfileUpdate(
                    attribute_id=slot.attribute.attribute_id,
                    value=slot.value,
                    confidence=round(slot.confidence, 2),
                    source_message_ids=slot.sources,
                    reasoning=f"offline rule for {slot.concept.label}",
                )
            )
    return updates


def _apply(finding: Finding, lang: Lang, by_concept: dict[str, _Slot], msg_id: str) -> None:
    slot = by_concept.get(finding.concept)
    value = finding.value
    if slot is None:
        for concept, zh, en in _FALLBACKS.get(finding.concept, []):
            if concept in by_concept:
                slot, value = by_concept[concept], (zh if lang == "zh" else en).format(v=finding.value)
                break
    if slot is None:
        return
    if finding.derived and (slot.stated or slot.value):
        return  # an age group worked out from an age never overrides one that is known
    if slot.concept.multi:
        merged = _merge(slot.value, value)
        changed = merged != slot.value
        slot.value = merged
    else:
        changed = value != slot.value
        slot.value = value
    slot.touched = True
    slot.stated = slot.stated or not finding.derived
    slot.confidence = max(slot.confidence, finding.confidence) if not changed else finding.confidence
    if msg_id not in slot.sources:
        slot.sources.append(msg_id)
