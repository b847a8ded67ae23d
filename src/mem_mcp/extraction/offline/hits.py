"""Hits: what one rule found in one clause, before it is mapped onto the requested strategies, and
the context a rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from .lexicon import Lang, _tidy
from .times import _Span

Kind = Literal[
    "personal", "preference", "change", "reminder", "plan", "habit", "retract", "tool", "request"
]
Meta = dict[str, str | int | float | bool]


@dataclass
class _Hit:
    kind: Kind
    text: str
    lang: Lang
    confidence: float
    evidence: str
    key: str | None = None
    natural: str = "fact"  # for changes and retractions: the memory type the slot usually lives in
    metadata: Meta = field(default_factory=dict)
    explicit_pref: bool = False


@dataclass
class _Ctx:
    clause: str
    lang: Lang
    question: bool
    base: datetime
    spans: list[_Span]

    @property
    def today(self) -> date:
        return self.base.date()


def _hit(ctx: _Ctx, kind: Kind, text: str, confidence: float, **kw: object) -> _Hit:
    return _Hit(kind, _tidy(text), ctx.lang, confidence, ctx.clause, **kw)  # type: ignore[arg-type]
