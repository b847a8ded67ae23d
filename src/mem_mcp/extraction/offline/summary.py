"""From hits to strategies: which memory type a hit becomes, its reasoning, the one-sentence episode,
and the extractive running summary."""

from __future__ import annotations

import re
from datetime import datetime

from ..base import CandidateMemory
from .hits import Hit
from .lexicon import Lang


def type_for(hit: Hit, wanted: set[str]) -> str | None:
    def first(*types: str) -> str | None:
        return next((t for t in types if t in wanted), None)

    if hit.kind == "request":
        return None
    if hit.kind == "tool":
        return first("tool")
    if hit.kind in ("personal", "habit"):
        return first("fact", "profile")
    if hit.kind == "preference":
        return first("preference", "profile")
    if hit.kind in ("reminder", "plan"):
        return first("episodic", "fact")
    if hit.kind == "change":
        return first("preference", "profile") if hit.natural == "preference" else first("fact", "profile")
    # A retraction must reach consolidation whatever the store's strategies, or the memory stays.
    return first(hit.natural, "fact", "profile", "preference", "episodic")


def reasoning_for(hit: Hit) -> str:
    if hit.kind == "preference" or hit.explicit_pref:
        return f"explicit preference: the user stated it (\u201c{hit.evidence}\u201d)"
    if hit.kind == "retract":
        return f"the user asked to forget this (\u201c{hit.evidence}\u201d)"
    return f"offline rule '{hit.kind}': \u201c{hit.evidence}\u201d"


def _phrase(hit: Hit, zh: bool) -> str:
    """What the user said, as a short phrase without the subject ("希望…", "loves sushi"). A clause in
    the other language is quoted whole rather than glued into the sentence."""
    text = hit.text
    if hit.lang != ("zh" if zh else "en"):
        return text
    if hit.kind == "retract":
        return f"要求忘记{text}" if zh else f"asked to forget {text[0].lower()}{text[1:]}"
    if zh:
        return f"提到{text}" if text.startswith("用户的") else text.removeprefix("用户")
    if text.startswith("The user's "):
        return "said their " + text.removeprefix("The user's ")
    return text.removeprefix("The user ")


def _phrases(hits: list[tuple[Hit, str]], zh: bool) -> tuple[list[str], list[str]]:
    """The distinct phrases of the hits, in order, and the ids of the messages they come from."""
    phrases: list[str] = []
    ids: list[str] = []
    for hit, msg_id in hits:
        text = _phrase(hit, zh)
        if text not in phrases:
            phrases.append(text)
        if msg_id not in ids:
            ids.append(msg_id)
    return phrases, ids


def _mostly_zh(hits: list[tuple[Hit, str]]) -> bool:
    return sum(1 for hit, _ in hits if hit.lang == "zh") * 2 >= len(hits)


def episode_memory(hits: list[tuple[Hit, str]], when: datetime) -> CandidateMemory | None:
    """One plain sentence listing what the user said or asked, in the conversation's main language."""
    hits = [(hit, msg_id) for hit, msg_id in hits if hit.kind != "tool"]
    if not hits:
        return None
    zh = _mostly_zh(hits)
    phrases, ids = _phrases(hits, zh)
    shown = phrases[:4]
    day = when.date().isoformat()
    if zh:
        text = f"用户在{day}的对话中：" + "；".join(shown) + ("等" if len(phrases) > 4 else "")
    else:
        text = f"In a conversation on {day}, the user " + "; ".join(shown) + ("; and more" if len(phrases) > 4 else "")
    return CandidateMemory(
        text=text,
        type="episodic",
        confidence=0.6,
        source_message_ids=ids,
        reasoning="one-sentence summary of the user's turns (offline, not an LLM summary)",
    )


# The running summary: "用户在本次对话中：A；B；C。" / "In this conversation, the user: A; B; C." Items are
# the user's own statements, condensed, oldest first; past the caps the oldest give way to the newest.
_SUMMARY_FRAME = {
    "zh": ("用户在本次对话中：", "；", "。", "（前略）"),
    "en": ("In this conversation, the user: ", "; ", ".", "(earlier points omitted) "),
}
SUMMARY_MAX_CHARS = 600
SUMMARY_MAX_ITEMS = 15


def _summary_items(previous: str) -> tuple[Lang | None, list[str]]:
    """The items of a summary this extractor wrote; any other text (an LLM's summary) is one item."""
    text = previous.strip()
    for lang, (head, sep, end, omitted) in _SUMMARY_FRAME.items():
        if text.startswith(head):
            body = text.removeprefix(head).removeprefix(omitted).removesuffix(end)
            return lang, [item.strip() for item in body.split(sep.strip()) if item.strip()]  # type: ignore[return-value]
    return None, ([text] if text else [])


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a).casefold() == re.sub(r"\W+", "", b).casefold()


def summary_memory(previous: str, hits: list[tuple[Hit, str]]) -> CandidateMemory | None:
    """The previous summary with what the new messages add; None when they add nothing."""
    hits = [(hit, msg_id) for hit, msg_id in hits if hit.kind != "tool"]
    if not hits:
        return None
    lang, items = _summary_items(previous)
    zh = lang == "zh" if lang is not None else _mostly_zh(hits)
    new: list[str] = []
    ids: list[str] = []
    for hit, msg_id in hits:
        phrase = _phrase(hit, zh)
        if any(_same(phrase, known) for known in items + new):
            continue
        new.append(phrase)
        if msg_id not in ids:
            ids.append(msg_id)
    if not new:
        return None
    head, sep, end, omitted = _SUMMARY_FRAME["zh" if zh else "en"]
    items = items + new
    dropped = previous.strip().startswith(head + omitted)

    def render() -> str:
        return head + (omitted if dropped else "") + sep.join(i.rstrip("。.；;") for i in items) + end

    while len(items) > 1 and (len(items) > SUMMARY_MAX_ITEMS or len(render()) > SUMMARY_MAX_CHARS):
        items = items[1:]
        dropped = True
    text = render()
    if len(text) > SUMMARY_MAX_CHARS:  # one statement longer than the cap on its own
        text = text[: SUMMARY_MAX_CHARS - 1] + "…"
    return CandidateMemory(
        text=text,
        type="summary",
        confidence=0.6,
        source_message_ids=ids,
        reasoning="extractive running summary of the user's statements (offline rules, not an LLM)",
    )
