"""Precision and recall of the offline extractor on two case tables.

* ``development``: the case table of tests/extraction/offline/test_offline.py, written alongside the
  extractor's rules; its numbers measure fit.
* ``held-out``: bench/offline_heldout_cases.py, written without reading the rules; its numbers
  measure how the rules generalise to statements they were not written for.

Each case lists what must be extracted and what must not (``must_not``). Expected items are the
development table's ``must`` substrings and ``expect`` candidates, and the held-out table's ``must``
and ``retract`` substrings; a ``retract`` item is found only in a candidate with ``retracts=True``.
A candidate is correct when it contains an expected item (a ``retract`` item only if it retracts) and
no forbidden one; in a case that expects nothing (greetings, small talk) every candidate is wrong.
recall = expected items found / expected items; precision = correct candidates / candidates.

    .venv/bin/python bench/offline_extraction_quality.py [--table development|held-out|both] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "extraction" / "offline"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_offline import ALL, CASES, _run  # noqa: E402

from offline_heldout_cases import HELDOUT_CASES  # noqa: E402

from _common import emit_json, md_table  # noqa: E402

TABLES = ("development", "held-out")


@dataclass(frozen=True)
class Scored:
    """A case of either table, as the scorer sees it: expected items are (substring, must_retract)."""

    id: str
    lang: str
    messages: list[tuple[str, str]]
    strategies: tuple[str, ...]
    created_at: datetime
    expected: list[tuple[str, bool]]
    must_not: list[str]


def _lang(messages: list[tuple[str, str]]) -> str:
    text = "".join(content for _, content in messages)
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def development_cases() -> list[Scored]:
    return [
        Scored(
            c.id,
            _lang(c.messages),
            c.messages,
            c.strategies,
            c.created_at,
            [(e, False) for e in dict.fromkeys([*c.must, *(x.contains for x in c.expect)])],
            list(c.must_not),
        )
        for c in CASES
    ]


def heldout_cases() -> list[Scored]:
    return [
        Scored(
            c.id,
            c.lang,
            c.messages,
            c.strategies,
            c.created_at,
            [*((e, False) for e in dict.fromkeys(c.must)), *((e, True) for e in dict.fromkeys(c.retract))],
            list(c.must_not),
        )
        for c in HELDOUT_CASES
    ]


def score(cases: list[Scored]) -> dict:
    """Per language and overall: counts, precision, recall; and every miss and wrong candidate."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])  # cases, expected, found, candidates, correct
    misses: list[str] = []
    for case in cases:
        candidates = _run(case.messages, case.strategies, case.created_at).candidates

        def matches(item: tuple[str, bool], cand) -> bool:
            text, must_retract = item
            return text in cand.text and (cand.retracts or not must_retract)

        found = [e for e in case.expected if any(matches(e, c) for c in candidates)]
        correct = [
            c
            for c in candidates
            if any(matches(e, c) for e in case.expected) and not any(bad in c.text for bad in case.must_not)
        ]
        for key in (case.lang, "all"):
            row = totals[key]
            row[0] += 1
            row[1] += len(case.expected)
            row[2] += len(found)
            row[3] += len(candidates)
            row[4] += len(correct)
        misses += [
            f"{case.id}: missed {text!r}" + (" (as a retraction)" if must_retract else "")
            for text, must_retract in case.expected
            if (text, must_retract) not in found
        ]
        misses += [
            f"{case.id}: wrong {c.text!r}" + (" (retracts)" if c.retracts else "")
            for c in candidates
            if not any(c is ok for ok in correct)
        ]
    out: dict = {}
    for key in ("zh", "en", "all"):
        n, exp, found, cands, correct = totals[key]
        out[key] = {
            "cases": n,
            "expected": exp,
            "found": found,
            "candidates": cands,
            "correct": correct,
            "precision": correct / cands if cands else 1.0,
            "recall": found / exp if exp else 1.0,
        }
    out["misses"] = misses
    return out


def speed(passes: int = 7) -> dict:
    """How long the rules take over all the development cases' messages in one conversation (was a
    timed unit test: speed budgets live here). A pattern that backtracks shows as seconds."""
    import statistics
    import time

    conversation = [(role, content) for case in CASES for role, content in case.messages]
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        _run(conversation, ALL)
        times.append(time.perf_counter() - start)
    return {
        "messages": len(conversation),
        "chars": sum(len(c) for _, c in conversation),
        "passes": passes,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "max_ms": round(max(times) * 1000, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", choices=[*TABLES, "both"], default="both")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args(argv)
    tables = TABLES if args.table == "both" else (args.table,)
    loaders = {"development": development_cases, "held-out": heldout_cases}
    results = {name: score(loaders[name]()) for name in tables}
    sp = speed()
    rows = [
        [
            name,
            key,
            r[key]["cases"],
            r[key]["expected"],
            r[key]["candidates"],
            round(r[key]["precision"], 3),
            round(r[key]["recall"], 3),
        ]
        for name, r in results.items()
        for key in ("zh", "en", "all")
    ]
    print(md_table(["table", "language", "cases", "expected items", "candidates", "precision", "recall"], rows))
    print(
        f"\nspeed: every development case's messages as one conversation ({sp['messages']} messages, "
        f"{sp['chars']} characters), {sp['passes']} passes: median {sp['median_ms']} ms a pass"
    )
    for name, r in results.items():
        print(f"\n{name} misses ({len(r['misses'])}):")
        for line in r["misses"]:
            print(f"- {line}")
    emit_json("offline_extraction_quality", {**results, "speed": sp}, args.out)


if __name__ == "__main__":
    main()
