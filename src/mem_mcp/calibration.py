"""How a model's cosine similarity maps to [0, 1]: per model (memory vs memory) and per query, from how
unrelated background sentences in each language score against it (:class:`QueryCalibration`). Split out of
:mod:`mem_mcp.retrieval`, which uses and re-exports it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Calibration:
    """Maps a model's raw cosine similarity to [0, 1]: ``floor`` is what unrelated texts score,
    ``ceiling`` what clearly related ones reach. Used where no query is involved (memory vs memory)."""

    floor: float
    ceiling: float
    #: Cosines above which two memories say the same thing (consolidation.near_duplicate): nearly
    #: identical, and close enough if most of their words are shared too.
    identical: float = 0.985
    duplicate: float = 0.95

    def __call__(self, cosine: float) -> float:
        return min(1.0, max(0.0, (cosine - self.floor) / (self.ceiling - self.floor)))


# e5 squeezes every pair into a narrow, high band; classic sentence-transformers spread over [0, 1].
# Measured by bench/calibration.py. Centered e5 (embeddings/centered.py) spreads them out: unrelated
# facts of one user sit at 0.04 (median of bench/data/bilingual_facts' pairs), 98% below 0.3; a fact
# and the one replacing it at 0.44 (median of its change pairs); a restatement ("用户对花生过敏" /
# "用户对花生严重过敏", "... jazz music" / "... jazz") at 0.93-0.97 where plain e5 gives 0.99.
_CALIBRATIONS: dict[str, Calibration] = {
    "+centered": Calibration(floor=0.1, ceiling=0.6, identical=0.92, duplicate=0.8),
    "e5": Calibration(floor=0.79, ceiling=0.90),
}
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
        "The user's car is a grey hatchback",
        "The user visited a museum last spring",
        "The user keeps receipts in a shoebox",
        "The user's neighbour plays the drums",
        "The user replaced the kitchen tap",
        "The user's favourite season is autumn",
        "The user takes the bus on Tuesdays",
        "The user once lost an umbrella on a train",
        "The user's printer often jams",
        "The user bought new curtains",
        "The user's cousin studies geology",
        "The user watered the plants on Sunday",
    ),
    "zh": (
        "用户的车是一辆灰色两厢车",
        "用户去年春天参观了博物馆",
        "用户把收据放在鞋盒里",
        "用户的邻居会打鼓",
        "用户换了厨房的水龙头",
        "用户最喜欢秋天",
        "用户每周二坐公交车",
        "用户曾在火车上丢过一把伞",
        "用户的打印机经常卡纸",
        "用户买了新窗帘",
        "用户的表哥在学地质",
        "用户星期天给植物浇了水",
    ),
}

#: How far above its floor a clearly related memory scores, per model family (cosine units).
_SPANS: dict[str, float] = {"+centered": 0.30, "e5": 0.15}
_DEFAULT_SPAN = 0.45


#: Cosine between two memories of one subject ("lives in Shanghai" / "moved to Shenzhen"), per model
#: family: in the centered e5 space 0.35 keeps two thirds of bench/data/bilingual_facts' change pairs and
#: under 1% of its unrelated pairs (bench/bilingual_facts.py). Raw e5 squeezes everything into 0.8-0.95: none.
_SAME_SUBJECT: dict[str, float] = {"+centered": 0.35}


def same_subject_for(model_name: str) -> float | None:
    lowered = model_name.lower()
    return next((v for k, v in _SAME_SUBJECT.items() if k in lowered), None)


def span_for(model_name: str) -> float:
    lowered = model_name.lower()
    return next((v for k, v in _SPANS.items() if k in lowered), _DEFAULT_SPAN)


@dataclass(frozen=True)
class QueryCalibration:
    """Per-query, per-language scale: ``(cosine - floor[lang]) / span`` clipped to [0, 1]."""

    floors: dict[str, float]
    span: float
    #: Cosine between two memories above which they are about one subject (:func:`recency`); None:
    #: not known for this model, no recency feature.
    same_subject: float | None = None

    @classmethod
    def from_background(
        cls, background_cosines: dict[str, "Sequence[float]"], span: float, same_subject: float | None = None
    ) -> "QueryCalibration":
        floors = {lang: float(sorted(c)[len(c) // 2]) for lang, c in background_cosines.items() if len(c)}
        return cls(floors, span, same_subject)

    def __call__(self, cosine: float, doc_lang: str) -> float:
        return min(1.0, max(0.0, self.raw(cosine, doc_lang)))

    def raw(self, cosine: float, doc_lang: str) -> float:
        """The same scale unclipped (for ranking: saturated memories keep their order)."""
        floor = self.floors.get(doc_lang, min(self.floors.values(), default=0.0))
        return (cosine - floor) / self.span
