"""Hits: what one rule found in one clause, before it is mapped onto the requested strategies, and
the context a rule reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from .lexicon import Lang, tidy
from .times import Span

Kind = Literal["personal", "preference", "change", "reminder", "plan", "habit", "retract", "tool", "request"]
Meta = dict[str, str | int | float | bool]


@dataclass
class Hit:
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
class Ctx:
    clause: str
    lang: Lang
    question: bool
    base: datetime
    spans: list[Span]

    @property
    def today(self) -> date:
        return self.base.date()


def new_hit(ctx: Ctx, kind: Kind, text: str, confidence: float, **kw: object) -> Hit:
    return Hit(kind, tidy(text), ctx.lang, confidence, ctx.clause, **kw)  # type: ignore[arg-type]
