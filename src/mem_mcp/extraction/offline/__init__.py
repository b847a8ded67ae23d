"""The offline, rule-based extractor: the default when no LLM is configured (DESIGN §5).

``OfflineExtractor`` reads the ``user`` turns of a conversation (and, for the ``tool`` strategy, the
``tool`` turns), splits them into sentences and clauses, and matches each clause against hand-written
Chinese and English patterns. What matches is rewritten in the third person, in the clause's own
language ("我住在上海" -> "用户住在上海", "I live in Berlin" -> "The user lives in Berlin"), and proposed
as a ``CandidateMemory``. It never reconciles (``decisions`` is ``None``): consolidation decides with its
thresholds and the candidates' ``key`` slots.

Rule families, tried in this order on each clause (the first that matches wins):

* retractions: "忘掉我的地址", "别记我的电话了", "forget my address" -> ``retracts=True``;
* reminders: "每天上午11点提醒我点外卖", "remind me to call mom tomorrow at 10";
* tool reports (``tool`` strategy): "the build failed because of X", "用 pytest -x 跑测试更快";
* changes: "我不喝咖啡了，现在只喝茶", "I don't drink coffee anymore", "I no longer work at X";
* personal facts: name, where the user lives/comes from/works/studies, job, age, birthday, family,
  pets, allergies and health, languages, "my X is Y";
* explicit preferences: like/love/prefer/hate, drinks and diet, favourites, standing answer style;
* plans: a first-person clause with a future date ("我下周五要飞东京", "I'm flying to Tokyo next Friday")
  or a plan verb ("我打算…", "I plan to…");
* habits: a first-person clause with a recurring time ("我每天跑步", "I run every morning");
* "记住…" / "remember that…" followed by any first-person statement.

Relative dates ("明天", "下周一", "后天", "tomorrow", "next Friday", "in 3 days") are resolved against
the message's own ``created_at`` in its own time zone, never converted, and written into the text as
ISO dates; recurring times ("每天上午11点", "every day at 9am") are kept as said.

Limits, honestly:

* Coverage is whatever the patterns cover. Paraphrases, typos, slang, sarcasm, mixed-language clauses
  and unusual word orders are missed; a missed fact is simply not remembered.
* No coreference: "it", "that", "她" are never resolved; clauses whose object is only a pronoun are
  dropped. A clause without a subject inherits "I/我" only from the previous clause of the same sentence.
* No inference: implicit preferences ("another espresso, please") are not extracted; nothing is
  concluded from several messages together. Two small guesses are made: a bare hour from 1 to 6
  with no "am/pm/上午/下午" is read as afternoon, and a clock time with no date means its next
  occurrence after the message.
* "next Friday" is read as the Friday of next calendar week (weeks start on Monday), as "下周五" is.
* Questions, greetings, thanks, filler and requests to the assistant are not memories; a question
  that happens to state a fact ("I'm vegetarian, what should I cook?") keeps only its statement clause.
* Custom strategies are left to the LLM extractors; ``episodic`` gets one plain sentence per call
  listing what the user said or asked. ``summary`` is extractive, not written: the run's previous
  summary plus the user's new statements and requests as matched above, condensed ("用户在本次对话中：
  希望…；不再喝咖啡…。"), oldest dropped first past 15 items or 600 characters. What the rules do not
  match is not in it, and nothing is paraphrased or merged.

With a profile schema, ``profile_rules.py`` fills the schema's attributes from the same clauses.

The package, by concern: ``text`` (sentences and clauses), ``times`` (dates and times), ``render``
(third person), ``lexicon`` (shared vocabulary and the one forget grammar), ``hits`` (what a rule
found), ``facts`` and ``preferences`` (the rules), ``summary`` (hits -> strategies, episode, running
summary), ``profile_rules`` (profile attributes); this module runs them over a conversation.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable

from ..base import (
    BUILTIN_STRATEGIES,
    CandidateMemory,
    ExtractionInput,
    ExtractionResult,
    ExtractMessage,
)
from .facts import (
    change_rule,
    reminder_rule,
    retraction_rule,
    tool_message_hit,
    tool_report_rule,
)
from .hits import Ctx, Hit, new_hit
from .lexicon import EN_FIRST_PERSON, Lang, slot_for
from .personal import personal_rule
from .preferences import habit_rule, plan_rule, preference_rule, request_rule
from .profile_rules import profile_updates
from .render import render_clause
from .summary import (
    SUMMARY_MAX_CHARS,
    SUMMARY_MAX_ITEMS,
    episode_memory,
    reasoning_for,
    summary_memory,
    type_for,
)
from .text import Sentence, split_sentences
from .times import find_times

__all__ = ["SUMMARY_MAX_CHARS", "SUMMARY_MAX_ITEMS", "OfflineExtractor", "Sentence", "split_sentences"]

_BUILTINS = frozenset(BUILTIN_STRATEGIES)

# "Remember that ..." ------------------------------------------------------------------------------

_ZH_REMEMBER = re.compile(r"^(?:请|麻烦)?(?:你)?(?:帮我)?(?:记住|记一下|记下|记着)(?:一下)?[：:，,]?\s*")
_EN_REMEMBER = re.compile(
    r"(?i)^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:remember|note|keep\s+in\s+mind|make\s+a\s+note)"
    r"(?:\s+that)?[:,]?\s+(?=i\b|i'm\b|my\b|i've\b)"
)


_RULES: tuple[Callable[[Ctx], Hit | None], ...] = (change_rule, personal_rule, preference_rule, plan_rule, habit_rule)


def _analyse(clause: str, lang: Lang, question: bool, base: datetime, remember: bool = False) -> Hit | None:
    """The first rule that matches one cleaned clause, or None."""
    ctx = Ctx(clause, lang, question, base, find_times(clause, base.date()))
    hit = retraction_rule(ctx) or reminder_rule(ctx)
    if hit:
        return hit
    stripped = (_ZH_REMEMBER if lang == "zh" else _EN_REMEMBER).sub("", clause, count=1)
    if stripped != clause:
        return _analyse(stripped, lang, False, base, remember=True)
    if question:
        return request_rule(ctx)
    hit = tool_report_rule(ctx)
    for rule in _RULES:
        if hit:
            break
        hit = rule(ctx)
    if hit and remember:
        hit.confidence = min(0.9, hit.confidence + 0.05)
    if hit is None and remember:
        first_person = clause.startswith("我") if lang == "zh" else EN_FIRST_PERSON.match(clause)
        if first_person:
            text = render_clause(clause, lang)
            key = slot_for(clause) if re.match(r"(?i)^(?:我的|my\b)", clause) else None
            return new_hit(ctx, "personal", text, 0.75, key=key)
    return hit or request_rule(ctx)


def _message_hits(msg: ExtractMessage) -> list[Hit]:
    hits: list[Hit] = []
    base = msg.created_at
    for sentence in split_sentences(msg.content, base):
        whole = sentence.whole
        # Some rules span a comma ("我不喝咖啡了，现在只喝茶"): try the whole sentence first.
        ctx = Ctx(whole, sentence.lang, False, base, find_times(whole, base.date()))
        hit = change_rule(ctx) if whole else None
        if hit and hit.text:
            hits.append(hit)
            continue
        for clause, question in sentence.clauses:
            hit = _analyse(clause, sentence.lang, question, base)
            if hit and hit.text:
                hits.append(hit)
    return hits


class OfflineExtractor:
    """Rule-based extraction for Chinese and English: no model, no network, no key."""

    name = "offline"
    model: str | None = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        wanted = {s.name for s in data.strategies if s.name in _BUILTINS}
        found: list[tuple[Hit, str]] = []
        first_user: datetime | None = None
        for msg in data.messages:
            if msg.role == "user":
                first_user = first_user or msg.created_at
                found.extend((hit, msg.id) for hit in _message_hits(msg))
            elif msg.role == "tool" and "tool" in wanted:
                hit = tool_message_hit(msg)
                if hit:
                    found.append((hit, msg.id))
        by_text: dict[str, CandidateMemory] = {}
        for hit, msg_id in found:
            kind = type_for(hit, wanted)
            if kind is None or not hit.text:
                continue
            seen = by_text.get(hit.text)
            if seen is not None:
                if msg_id not in seen.source_message_ids:
                    seen.source_message_ids.append(msg_id)
                continue
            by_text[hit.text] = CandidateMemory(
                text=hit.text,
                type=kind,
                confidence=round(hit.confidence, 2),
                source_message_ids=[msg_id],
                reasoning=reasoning_for(hit),
                key=hit.key or None,
                retracts=hit.kind == "retract",
                metadata=dict(hit.metadata),
            )
        candidates = list(by_text.values())
        if "episodic" in wanted and first_user is not None:
            episode = episode_memory([(h, i) for h, i in found if h.kind != "tool"], first_user)
            if episode is not None and episode.text not in by_text:
                candidates.append(episode)
        if "summary" in wanted:
            summary = summary_memory(data.summaries.get("summary", ""), found)
            if summary is not None:
                candidates.append(summary)
        updates = []
        if data.profile is not None:
            updates = profile_updates(data.messages, data.profile)
        return ExtractionResult(
            candidates=candidates, decisions=None, extractor=self.name, model=self.model, profile_updates=updates
        )
