"""Pure retrieval logic: the terms the full-text index sees, and how vector and keyword evidence are
fused into one score in [0, 1]. No I/O here; ``store.py`` runs the queries, ``service.py`` composes.

Full-text terms. LanceDB's ``simple`` tokenizer finds nothing inside Chinese text (a run of Han
characters is one token), and its ``ngram`` tokenizer turns English into noise. So we tokenise
ourselves and index the result in a ``fts_text`` column: Latin-script words as words (the index
then lower-cases and stems them), CJK text as overlapping character bigrams plus single characters
(as Lucene's CJK analyzer does), minus a few function characters. Queries go through the same
function, so no caller text ever reaches the FTS query parser as syntax.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Sequence, get_args

# Han, Hiragana, Katakana, Hangul, CJK punctuation-free ranges.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
_CJK_RE = re.compile(rf"^[{_CJK}]+$")
# Single characters too common to carry meaning on their own (bigrams containing them are kept).
_CJK_STOP = set("的了是我你他她它们在和与也就都而及或这那有吗呢吧啊呀哦嗯个之其为以于")
_EN_STOP = {
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "of", "to", "in",
    "on", "at", "for", "and", "or", "what", "which", "who", "whom", "how", "when", "where", "why", "i", "me",
    "my", "you", "your", "it", "its", "this", "that", "these", "those", "with", "about", "as", "by", "from",
    # Memories are written in the third person, so "user"/"用户" is in nearly all of them and says nothing.
    "user", "users", "用户", "用", "户",
}


def fts_terms(text: str) -> list[str]:
    """The index terms of a text: lower-cased words, and CJK unigrams and bigrams."""
    terms: list[str] = []
    for tok in _TOKEN_RE.findall(text):
        if _CJK_RE.match(tok):
            terms.extend(ch for ch in tok if ch not in _CJK_STOP)
            terms.extend(tok[i : i + 2] for i in range(len(tok) - 1))
        else:
            terms.append(tok.lower())
    return terms


def fts_text(text: str) -> str:
    """What goes into the ``fts_text`` column (and, for a query, into the FTS query)."""
    return " ".join(fts_terms(text))


def query_terms(text: str) -> set[str]:
    """Distinct content terms of a query, for coverage scoring."""
    return {t for t in fts_terms(text) if t not in _EN_STOP}


def _stem(term: str) -> str:
    # A light English suffix strip so "likes"/"liked"/"liking" meet "like"; coverage only.
    for suffix in ("ing", "ed", "s"):
        if len(term) > len(suffix) + 2 and term.endswith(suffix):
            term = term[: -len(suffix)]
            break
    return term[:-1] if len(term) > 3 and term.endswith("e") else term


def coverage(query: set[str], document_terms: str) -> float:
    """Fraction of the query's content terms that occur in the document, in [0, 1]."""
    if not query:
        return 0.0
    doc = {_stem(t) for t in document_terms.split()}
    return sum(1 for t in query if _stem(t) in doc) / len(query)


def language(text: str) -> str:
    """'zh' for text with CJK characters, else 'en': enough to pick a calibration."""
    return "zh" if _CJK_ANY.search(text) else "en"


_CJK_ANY = re.compile(rf"[{_CJK}]")


@dataclass(frozen=True)
class Calibration:
    """Maps a model's raw cosine similarity to [0, 1]: ``floor`` is what unrelated texts score,
    ``ceiling`` what clearly related ones reach. Used where no query is involved (memory vs memory)."""

    floor: float
    ceiling: float

    def __call__(self, cosine: float) -> float:
        return min(1.0, max(0.0, (cosine - self.floor) / (self.ceiling - self.floor)))


# e5 squeezes every pair into a narrow, high band; classic sentence-transformers spread over [0, 1].
# Measured by bench/calibration.py.
_CALIBRATIONS: dict[str, Calibration] = {"e5": Calibration(floor=0.79, ceiling=0.90)}
_DEFAULT_CALIBRATION = Calibration(floor=0.15, ceiling=0.85)


def calibration_for(model_name: str) -> Calibration:
    lowered = model_name.lower()
    for key, cal in _CALIBRATIONS.items():
        if key in lowered:
            return cal
    return _DEFAULT_CALIBRATION


#: Unrelated memory-style sentences per language. How close a query comes to them is its floor: what
#: an unrelated memory of that language scores for this query. A fixed floor fails twice over:
#: multilingual models score two unrelated Chinese texts above a Chinese question and its English
#: answer, and short queries score everything lower than long ones.
BACKGROUND: dict[str, tuple[str, ...]] = {
    "en": (
        "The user's car is a grey hatchback", "The user visited a museum last spring",
        "The user keeps receipts in a shoebox", "The user's neighbour plays the drums",
        "The user replaced the kitchen tap", "The user's favourite season is autumn",
        "The user takes the bus on Tuesdays", "The user once lost an umbrella on a train",
        "The user's printer often jams", "The user bought new curtains",
        "The user's cousin studies geology", "The user watered the plants on Sunday",
    ),
    "zh": (
        "用户的车是一辆灰色两厢车", "用户去年春天参观了博物馆", "用户把收据放在鞋盒里",
        "用户的邻居会打鼓", "用户换了厨房的水龙头", "用户最喜欢秋天",
        "用户每周二坐公交车", "用户曾在火车上丢过一把伞", "用户的打印机经常卡纸",
        "用户买了新窗帘", "用户的表哥在学地质", "用户星期天给植物浇了水",
    ),
}

#: How far above its floor a clearly related memory scores, per model family (cosine units).
_SPANS: dict[str, float] = {"e5": 0.15}
_DEFAULT_SPAN = 0.45


def span_for(model_name: str) -> float:
    lowered = model_name.lower()
    return next((v for k, v in _SPANS.items() if k in lowered), _DEFAULT_SPAN)


@dataclass(frozen=True)
class QueryCalibration:
    """Per-query, per-language scale: ``(cosine - floor[lang]) / span`` clipped to [0, 1]."""

    floors: dict[str, float]
    span: float

    @classmethod
    def from_background(cls, background_cosines: dict[str, "Sequence[float]"], span: float) -> "QueryCalibration":
        floors = {lang: float(sorted(c)[len(c) // 2]) for lang, c in background_cosines.items() if len(c)}
        return cls(floors, span)

    def __call__(self, cosine: float, doc_lang: str) -> float:
        floor = self.floors.get(doc_lang, min(self.floors.values(), default=0.0))
        return min(1.0, max(0.0, (cosine - floor) / self.span))


#: Which evidence a search uses: both (fused), nearest neighbours only, or full-text matches only.
SearchMode = Literal["hybrid", "vector", "keyword"]
SEARCH_MODES: tuple[str, ...] = get_args(SearchMode)


@dataclass
class Candidate:
    """One memory row found by the vector search, the keyword search, or both. ``bm25`` is the
    full-text score where the keyword search found it."""

    row: dict
    cosine: float
    bm25: float | None = None


SEMANTIC_WEIGHT = 0.7
KEYWORD_WEIGHT = 0.3
CURRENT_RUN_BOOST = 0.05


def fuse(
    candidates: list[Candidate],
    query: str,
    calibration: QueryCalibration | None,
    *,
    rerank: bool,
    current_run: str | None,
    mode: SearchMode = "hybrid",
) -> list[tuple[dict, float]]:
    """Score candidates in [0, 1] and rank them, best first.

    ``hybrid`` with ``rerank`` blends calibrated semantic similarity with query-term coverage (so an
    exact keyword hit beats a vague neighbour) and lifts the caller's current run a little; without
    ``rerank``, and in ``vector`` mode, the score is the calibrated semantic similarity alone. In
    ``keyword`` mode (no embedding, ``calibration`` None) it is the BM25 score relative to the best
    match. Ties go to the newer memory.
    """
    terms = query_terms(query)
    top_bm25 = max((c.bm25 or 0.0 for c in candidates), default=0.0)
    scored: list[tuple[dict, float]] = []
    for cand in candidates:
        if mode == "keyword" or calibration is None:
            score = (cand.bm25 or 0.0) / top_bm25 if top_bm25 > 0 else 0.0
        else:
            semantic = calibration(cand.cosine, language(cand.row.get("text", "")))
            if rerank and mode == "hybrid":
                keyword = coverage(terms, cand.row.get("fts_text", ""))
                score = SEMANTIC_WEIGHT * semantic + KEYWORD_WEIGHT * keyword
                if current_run and cand.row.get("run_id") == current_run:
                    score += CURRENT_RUN_BOOST
            else:
                score = semantic
        scored.append((cand.row, round(min(1.0, max(0.0, score)), 6)))
    scored.sort(key=lambda item: (item[1], _ts(item[0].get("updated_at"))), reverse=True)
    return scored


def _ts(value: datetime | None) -> float:
    return value.timestamp() if isinstance(value, datetime) else -math.inf
