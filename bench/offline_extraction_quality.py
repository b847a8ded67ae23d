"""Precision and recall of the offline extractor on the case table of tests/test_extraction_offline.py.

Each case lists what must be extracted (``must`` substrings and ``expect`` candidates) and what must
not (``must_not``). A candidate is correct when it contains an expected item and no forbidden one;
in a case that expects nothing (greetings, small talk) every candidate is wrong.
recall = expected items found / expected items; precision = correct candidates / candidates.

    .venv/bin/python bench/offline_extraction_quality.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit_json, md_table  # noqa: E402
from test_extraction_offline import CASES, _run  # noqa: E402


def _lang(case) -> str:
    text = "".join(content for _, content in case.messages)
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def main() -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # expected, found, candidates, correct
    misses: list[str] = []
    for case in CASES:
        result = _run(case.messages, case.strategies, case.created_at)
        texts = [c.text for c in result.candidates]
        expected = list(dict.fromkeys([*case.must, *(e.contains for e in case.expect)]))
        found = [e for e in expected if any(e in t for t in texts)]
        correct = [
            t for t in texts
            if any(e in t for e in expected) and not any(bad in t for bad in case.must_not)
        ]
        for key in (_lang(case), "all"):
            row = totals[key]
            row[0] += len(expected)
            row[1] += len(found)
            row[2] += len(texts)
            row[3] += len(correct)
        misses += [f"{case.id}: missed {e!r}" for e in expected if e not in found]
        misses += [f"{case.id}: wrong {t!r}" for t in texts if t not in correct]
    rows = []
    out = {}
    for key in ("zh", "en", "all"):
        exp, found, cands, correct = totals[key]
        recall = found / exp if exp else 1.0
        precision = correct / cands if cands else 1.0
        n = sum(1 for c in CASES if key == "all" or _lang(c) == key)
        rows.append([key, n, exp, cands, round(precision, 3), round(recall, 3)])
        out[key] = {"cases": n, "expected": exp, "candidates": cands, "precision": precision, "recall": recall}
    print(md_table(["language", "cases", "expected items", "candidates", "precision", "recall"], rows))
    for line in misses:
        print(f"- {line}")
    emit_json("offline_extraction_quality", {**out, "misses": misses})


if __name__ == "__main__":
    main()
