"""The bilingual short-fact sets of bench/data are well formed: what bench/bilingual_facts.py scores is what
their READMEs and BENCHMARKS.md say (every answer a memory of the set, ids unique, both splits present)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[2] / "bench" / "data"
SETS = sorted(p.name for p in DATA.glob("bilingual_facts*") if (p / "memories.jsonl").exists())
HAN = re.compile(r"[\u4e00-\u9fff]")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_three_sets_are_there() -> None:
    assert {"bilingual_facts", "bilingual_facts_b", "bilingual_facts_c"} <= set(SETS)


@pytest.mark.parametrize("name", SETS)
def test_a_set_is_well_formed(name: str) -> None:
    root = DATA / name
    memories = _rows(root / "memories.jsonl")
    ids = [m["id"] for m in memories]
    assert len(ids) == len(set(ids)), "memory ids must be unique"
    for m in memories:
        assert m["text"].strip() and m["group"]
        # z: written in Chinese; e: in English (which may quote a Chinese name or title)
        assert m["id"][0] in "ze", m
        assert bool(HAN.search(m["text"])) if m["id"][0] == "z" else bool(re.search(r"[A-Za-z]{3}", m["text"])), m
    known = set(ids)
    for split in ("dev", "heldout"):
        questions = _rows(root / f"{split}.jsonl")
        assert questions, split
        assert all(q["a"] in known and q["q"].strip() for q in questions), split
    for u in _rows(root / "unanswerable.jsonl"):
        assert u["split"] in ("dev", "heldout") and u["q"].strip()
    changes = _rows(root / "changes.jsonl")
    assert len({c["id"] for c in changes}) == len(changes)
    for c in changes:
        assert c["old"].strip() and c["new"].strip() and c["q"].strip() and c["old"] != c["new"]


CHANGE_FILES = sorted(DATA.glob("bilingual_facts*/changes*.jsonl"))
SLOTS = {"home", "employer", "job", "school", "car", "phone", "diet", "drink", "pet", "relationship", None}


@pytest.mark.parametrize("path", CHANGE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_change_file_is_well_formed(path: Path) -> None:
    changes = _rows(path)
    assert changes
    assert len({c["id"] for c in changes}) == len(changes), "change ids must be unique"
    for c in changes:
        assert c["old"].strip() and c["new"].strip() and c["q"].strip() and c["old"] != c["new"], c
        assert c.get("slot") in SLOTS or isinstance(c.get("slot"), str), c


def test_off_topic_requests_have_both_splits_and_both_languages() -> None:
    rows = _rows(DATA / "off_topic" / "questions.jsonl")
    for split in ("dev", "heldout"):
        qs = [r["q"] for r in rows if r["split"] == split]
        assert len(qs) == 20 and len(set(qs)) == 20
        assert any(HAN.search(q) for q in qs) and any(not HAN.search(q) for q in qs)
