"""Consolidation: what each extracted candidate does to the memories already known (DESIGN §5).

Per candidate the answer is ADD (new), UPDATE (a new version of an existing memory, which keeps its
history), DELETE (soft; the conversation retracts or contradicts it) or NONE (already known).
An LLM extractor decides itself, referring to existing memories by short local ids; without one,
these rules decide:

1. A retraction ("forget my address") deletes the memory with the same key, else the most similar
   memory above ``RETRACT_SIMILARITY``; with no such memory it is NONE.
2. The same text (ignoring case, spaces and end punctuation) is NONE.
3. The same key ("drink", "home_city") is an UPDATE: a single-valued fact got a new value.
4. A near duplicate of the same type is NONE: nearly identical embeddings (cosine >= ``IDENTICAL_COSINE``),
   or close ones (>= ``DUPLICATE_COSINE``) that also share most of their words. Embeddings alone cannot
   tell "allergic to peanuts" from "allergic to seafood" (multilingual-e5 scores them 0.96, a paraphrase
   0.98), and a fact wrongly judged known is lost, so the bar is high and words must agree.
5. Anything else is ADD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

from .errors import ExtractionError
from .extraction.base import CandidateMemory, ReconcileDecision
from .terms import fts_terms

Action = Literal["ADD", "UPDATE", "DELETE", "NONE"]

#: Raw cosine between two memories' embeddings above which they say the same thing.
IDENTICAL_COSINE = 0.985
#: Raw cosine above which two memories are duplicates if they also share DUPLICATE_OVERLAP of their terms.
DUPLICATE_COSINE = 0.95
DUPLICATE_OVERLAP = 0.6
#: How close a retraction must be to a memory to delete it when no key matches.
RETRACT_SIMILARITY = 0.55

_NORMALISE = re.compile(r"[\s。．.!！?？,，;；:：'\"“”‘’]+")


def normalise(text: str) -> str:
    """Text for exact-duplicate comparison: case, whitespace and punctuation do not count."""
    return _NORMALISE.sub("", text).lower()


@dataclass(frozen=True)
class Neighbour:
    """An existing active memory near a candidate: its row, calibrated similarity in [0, 1], raw cosine."""

    row: Mapping[str, Any]
    similarity: float
    cosine: float = 0.0


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of two texts' terms (words; CJK characters and bigrams)."""
    ta, tb = set(fts_terms(a)), set(fts_terms(b))
    return len(ta & tb) / len(ta | tb) if ta or tb else 1.0


def near_duplicate(
    text: str, neighbour: Neighbour, identical: float = IDENTICAL_COSINE, duplicate: float = DUPLICATE_COSINE
) -> bool:
    """``identical`` / ``duplicate``: the cosines of the model in use (``retrieval.Calibration``)."""
    if neighbour.cosine >= identical:
        return True
    return neighbour.cosine >= duplicate and overlap(text, neighbour.row["text"]) >= DUPLICATE_OVERLAP


@dataclass(frozen=True)
class Plan:
    """What to do for one candidate."""

    action: Action
    candidate: CandidateMemory
    text: str
    target: Mapping[str, Any] | None = None


def decide(
    candidate: CandidateMemory,
    neighbours: Sequence[Neighbour],
    cosines: tuple[float, float] = (IDENTICAL_COSINE, DUPLICATE_COSINE),
) -> Plan:
    """The rule-based decision for one candidate against its nearest existing memories; ``cosines``:
    the model's identical and duplicate cosines (``retrieval.Calibration``)."""
    keyed = [n for n in neighbours if candidate.key and n.row.get("key") == candidate.key]
    best = max(neighbours, key=lambda n: n.similarity, default=None)
    if candidate.retracts:
        target = keyed[0] if keyed else (best if best and best.similarity >= RETRACT_SIMILARITY else None)
        if target is None:
            return Plan("NONE", candidate, candidate.text)
        return Plan("DELETE", candidate, target.row["text"], target.row)
    wanted = normalise(candidate.text)
    for n in neighbours:
        if normalise(n.row["text"]) == wanted:
            return Plan("NONE", candidate, n.row["text"], n.row)
    if keyed:
        return Plan("UPDATE", candidate, candidate.text, keyed[0].row)
    for n in sorted(neighbours, key=lambda n: n.cosine, reverse=True):
        if n.row.get("type") == candidate.type and near_duplicate(candidate.text, n, *cosines):
            return Plan("NONE", candidate, n.row["text"], n.row)
    return Plan("ADD", candidate, candidate.text)


def plans_from_decisions(
    candidates: Sequence[CandidateMemory],
    decisions: Sequence[ReconcileDecision],
    existing: Mapping[str, Mapping[str, Any]],
) -> dict[int, Plan]:
    """Turn an LLM's decisions (short ids) into plans; candidates it did not decide on are left out."""
    plans: dict[int, Plan] = {}
    for d in decisions:
        if d.candidate >= len(candidates):
            raise ExtractionError(
                f"The model decided on candidate {d.candidate}, but only {len(candidates)} were extracted. "
                "The messages are kept; retry the request.",
            )
        cand = candidates[d.candidate]
        target = None
        if d.action in ("UPDATE", "DELETE") or (d.action == "NONE" and d.target):
            if d.target not in existing:
                if d.action == "NONE":
                    plans[d.candidate] = Plan("NONE", cand, cand.text)
                    continue
                raise ExtractionError(
                    f"The model referred to existing memory {d.target!r}, which it was not shown. "
                    "The messages are kept; retry the request.",
                )
            target = existing[d.target]
        text = d.text or (target["text"] if d.action in ("DELETE", "NONE") and target else cand.text)
        plans[d.candidate] = Plan(d.action, cand, text, target)
    return plans
