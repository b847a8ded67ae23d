"""The ``summary`` strategy: one running summary per run, rewritten as the conversation goes on.

A store with a summary-type strategy (the built-in ``summary``, or a custom strategy whose type is
``summary``) keeps exactly one active summary memory per run (app, tenant, agent and run), in a
single-valued ``key`` slot: ``summary`` for the built-in strategy, ``summary:<name>`` for a custom one.
Before extraction the service reads the run's current summaries and gives their text to the
extractor (``ExtractionInput.summaries``); the extractor answers with the rewritten summary; here it
becomes an ADD (the run's first summary) or an UPDATE of the run's summary, whatever an LLM decided
for it and however similar it is to memories of other runs. So the old versions stay in the memory's
history. Summaries never take part in consolidating other memories (they restate them).
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Mapping, Sequence

from .consolidation import Plan
from .extraction.base import SUMMARY_TYPE, CandidateMemory, StrategySpec

__all__ = ["SUMMARY_TYPE", "excluded_types", "plans", "slot_key", "summary_strategies"]

log = logging.getLogger(__name__)


def summary_strategies(specs: Iterable[StrategySpec]) -> list[str]:
    """Names of the strategies that keep a running summary."""
    return [s.name for s in specs if s.type == SUMMARY_TYPE]


def slot_key(strategy: str) -> str:
    """The key slot of a strategy's running summary."""
    return SUMMARY_TYPE if strategy == SUMMARY_TYPE else f"{SUMMARY_TYPE}:{strategy}"


def excluded_types(specs: Iterable[StrategySpec]) -> list[str]:
    """Memory types left out of consolidation: summaries restate other memories, so they must neither
    absorb a new fact as 'already known' nor be deleted by a retraction."""
    return sorted({SUMMARY_TYPE, *summary_strategies(specs)})


def plans(
    candidates: Sequence[CandidateMemory], current: Mapping[str, Mapping[str, Any]], strategies: Sequence[str]
) -> tuple[dict[int, Plan], set[int]]:
    """Plans for the summary candidates, and the indexes of surplus ones to skip.

    ``current`` maps a strategy name to the run's active summary row. The first candidate of each
    summary strategy rewrites that row (UPDATE) or starts it (ADD); any further one is skipped, so a
    run never holds two summaries of one strategy.
    """
    wanted = set(strategies)
    out: dict[int, Plan] = {}
    skipped: set[int] = set()
    seen: set[str] = set()
    for i, cand in enumerate(candidates):
        if cand.type not in wanted:
            continue
        if cand.type in seen:
            log.info("dropped a second %r summary from one extraction", cand.type)
            skipped.add(i)
            continue
        seen.add(cand.type)
        slotted = cand.model_copy(update={"key": slot_key(cand.type), "retracts": False})
        target = current.get(cand.type)
        out[i] = Plan("UPDATE", slotted, cand.text, target) if target is not None else Plan("ADD", slotted, cand.text)
    return out, skipped
