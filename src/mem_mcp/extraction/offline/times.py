"""Times and dates: relative dates ("明天", "下周一", "next Friday", "in 3 days") resolved against the
message's own date, clock times, recurring times, and how a time reads in a memory."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable

from .lexicon import Lang, is_zh, parse_number, tidy

_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EN_MONTHS = {
    name.lower(): i for names in (calendar.month_name, calendar.month_abbr) for i, name in enumerate(names) if name
} | {"sept": 9}
_MONTH_RE = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_PM_WORDS = {"下午", "傍晚", "晚上", "夜里", "半夜", "今晚", "明晚", "今夜", "afternoon", "evening", "night", "tonight"}


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_after(d: date, months: int = 1) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return date(d.year + y, m + 1, 1)


@dataclass
class Span:
    start: int
    end: int
    day: date | None = None
    week_of: date | None = None
    month: date | None = None
    clock: tuple[int, int] | None = None
    daypart: str | None = None
    recurring: bool = False
    #: A Chinese-numeral hour ("三点"); only a time when next to another time word, so "快一点" is not 1:00.
    loose: bool = False


_Handler = Callable[[re.Match[str], date], "Span | None"]


def _span(m: re.Match[str], **kw: object) -> Span:
    return Span(m.start(), m.end(), **kw)  # type: ignore[arg-type]


def _zh_rel(m: re.Match[str], d: date) -> Span:
    word = m.group(0)
    offset = {"今": 0, "明": 1, "后": 2, "大": 3}[word[0]]
    part = {"早": "早上", "晚": "晚上", "夜": "晚上"}.get(word[-1])
    return _span(m, day=d + timedelta(days=offset), daypart=part)


def _zh_weekday(m: re.Match[str], d: date) -> Span:
    prefix, wd = m.group(1), _ZH_WEEKDAY[m.group(2)]
    if prefix in ("下下",):
        day = _monday(d) + timedelta(days=14 + wd)
    elif prefix == "下":
        day = _monday(d) + timedelta(days=7 + wd)
    elif prefix in ("这", "本"):
        # "这周五" said on a Saturday means the coming one, not yesterday.
        day = _monday(d) + timedelta(days=wd)
        day = day if day >= d else day + timedelta(days=7)
    elif prefix == "上":
        day = _monday(d) + timedelta(days=wd - 7)
    else:
        day = d + timedelta(days=((wd - d.weekday()) % 7) or 7)
    return _span(m, day=day)


def _zh_md(m: re.Match[str], d: date) -> Span | None:
    month, dom = parse_number(m.group(2)), parse_number(m.group(3))
    if month is None or dom is None:
        return None
    if m.group(1):
        day = _safe_date(int(m.group(1)), month, dom)
    else:
        day = _safe_date(d.year, month, dom)
        if day is not None and day < d:
            day = _safe_date(d.year + 1, month, dom)
    return _span(m, day=day) if day else None


def _dom(m: re.Match[str], d: date, next_month: bool = False) -> Span | None:
    dom = parse_number(m.group(1))
    if dom is None:
        return None
    base = _month_after(d) if next_month else d
    day = _safe_date(base.year, base.month, dom)
    if not next_month and (day is None or day < d):
        nm = _month_after(d)
        day = _safe_date(nm.year, nm.month, dom)
    return _span(m, day=day) if day else None


def _zh_clock(m: re.Match[str], d: date) -> Span | None:
    hour = parse_number(m.group(1))
    if hour is None or hour > 24:
        return None
    tail = m.group(0)
    minute = 0
    if m.group(2):
        minute = parse_number(m.group(2)) or 0
    elif "半" in tail:
        minute = 30
    elif "三刻" in tail:
        minute = 45
    elif "一刻" in tail:
        minute = 15
    loose = not m.group(1).isdigit() and not re.search(r"[分半刻钟整]", tail)
    return _span(m, clock=(hour % 24, minute % 60), loose=loose)


_ZH_TIMES: list[tuple[re.Pattern[str], _Handler]] = [
    (
        re.compile(
            r"每(?:天|日|晚|早|个?周[一二三四五六日天末]?|个?星期[一二三四五六日天]?|个?礼拜[一二三四五六日天]?|"
            r"个?工作日|个?月(?:\d{1,2}|[一二三四五六七八九十]{1,3})[号日]|个?月|年)"
        ),
        lambda m, d: _span(m, recurring=True),
    ),
    (
        re.compile(r"(?:(\d{4})年)?(\d{1,2}|[一二三四五六七八九十]{1,3})月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"),
        _zh_md,
    ),
    (re.compile(r"(下下|下|这|本|上)?个?(?:周|星期|礼拜)([一二三四五六日天末])"), _zh_weekday),
    (
        re.compile(r"(下|这|本)个?(?:周|星期|礼拜)"),
        lambda m, d: _span(m, week_of=_monday(d) + timedelta(days=7 if m.group(1) == "下" else 0)),
    ),
    (re.compile(r"下个?月(\d{1,2}|[一二三四五六七八九十]{1,3})[号日]"), lambda m, d: _dom(m, d, next_month=True)),
    (re.compile(r"下个?月"), lambda m, d: _span(m, month=_month_after(d))),
    (re.compile(r"大后天|后天|明天|明日|明早|明晚|明儿|今天|今日|今早|今晚|今夜"), _zh_rel),
    (
        re.compile(r"(\d+|[一二两三四五六七八九十]+)(?:天|日)(?:后|以后|之后)"),
        lambda m, d: _span(m, day=d + timedelta(days=parse_number(m.group(1)) or 0)),
    ),
    (
        re.compile(r"(\d+|[一二两三四五六七八九十]+)个?(?:星期|周|礼拜)(?:后|以后|之后)"),
        lambda m, d: _span(m, day=d + timedelta(weeks=parse_number(m.group(1)) or 0)),
    ),
    (re.compile(r"(\d{1,2})[号日](?![子期本元线楼房车])"), _dom),
    (re.compile(r"早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨"), lambda m, d: _span(m, daypart=m.group(0))),
    (re.compile(r"(\d{1,2})[:：](\d{2})"), lambda m, d: _span(m, clock=(int(m.group(1)) % 24, int(m.group(2)) % 60))),
    (
        re.compile(
            r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})(?:点|时)(?!点|儿)(?:钟)?"
            r"(?:(\d{1,2}|[一二三四五六七八九十]{1,3})分|半|一刻|三刻|整)?"
        ),
        _zh_clock,
    ),
]


def _en_rel(m: re.Match[str], d: date) -> Span:
    word = m.group(1).lower()
    offset = 1 if word == "tomorrow" else 0
    part = m.group(2).lower() if m.group(2) else ("night" if word == "tonight" else None)
    return _span(m, day=d + timedelta(days=offset), daypart=part)


def _en_weekday(m: re.Match[str], d: date) -> Span:
    prefix = (m.group(1) or "").lower()
    wd = _EN_WEEKDAYS.index(m.group(2).lower())
    if prefix == "next":
        day = _monday(d) + timedelta(days=7 + wd)
    elif prefix == "this":
        day = _monday(d) + timedelta(days=wd)
        day = day if day >= d else day + timedelta(days=7)
    elif prefix == "last":
        day = _monday(d) + timedelta(days=wd - 7)
    else:
        day = d + timedelta(days=((wd - d.weekday()) % 7) or 7)
    return _span(m, day=day)


def _en_next(m: re.Match[str], d: date) -> Span:
    which, unit = m.group(1).lower(), m.group(2).lower()
    week = _monday(d) + timedelta(days=7 if which == "next" else 0)
    if unit == "week":
        return _span(m, week_of=week)
    if unit == "weekend":
        return _span(m, day=week + timedelta(days=5))
    if unit == "month":
        return _span(m, month=_month_after(d))
    return _span(m, month=date(d.year + 1, 1, 1))


def _en_md(m: re.Match[str], d: date, month_group: int, day_group: int) -> Span | None:
    month = _EN_MONTHS.get(m.group(month_group).lower().rstrip("."))
    dom = int(m.group(day_group))
    if month is None:
        return None
    if m.group(3):
        day = _safe_date(int(m.group(3)), month, dom)
    else:
        day = _safe_date(d.year, month, dom)
        if day is not None and day < d:
            day = _safe_date(d.year + 1, month, dom)
    return _span(m, day=day) if day else None


def _en_ampm(m: re.Match[str], d: date) -> Span | None:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 12:
        return None
    hour = hour % 12 + (12 if m.group(3).lower() == "p" else 0)
    return _span(m, clock=(hour, minute % 60), daypart="pm" if hour >= 12 else "am")


def _en_at(m: re.Match[str], d: date) -> Span | None:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    return _span(m, clock=(hour, minute % 60)) if hour <= 24 else None


_EN_TIMES: list[tuple[re.Pattern[str], _Handler]] = [
    (
        re.compile(
            r"\b(?:every\s+(?:single\s+)?(?:day|morning|afternoon|evening|night|week|weekday|weekend|month|year|"
            r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|daily|weekly|monthly|each\s+(?:day|morning|evening|"
            r"night|week)|(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)days)\b",
            re.I,
        ),
        lambda m, d: _span(m, recurring=True),
    ),
    (re.compile(r"\bthe\s+day\s+after\s+tomorrow\b", re.I), lambda m, d: _span(m, day=d + timedelta(days=2))),
    (re.compile(r"\b(today|tomorrow|tonight)(?:\s+(morning|afternoon|evening|night))?\b", re.I), _en_rel),
    (
        re.compile(r"\bthis\s+(morning|afternoon|evening)\b", re.I),
        lambda m, d: _span(m, day=d, daypart=m.group(1).lower()),
    ),
    (
        re.compile(r"\b(?:(on|next|this|this\s+coming|coming|last)\s+)?(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I),
        _en_weekday,
    ),
    (re.compile(r"\b(next|this)\s+(week|weekend|month|year)\b", re.I), _en_next),
    (
        re.compile(r"\bin\s+(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(days?|weeks?)\b", re.I),
        lambda m, d: _span(
            m, day=d + timedelta(days=(parse_number(m.group(1)) or 0) * (7 if m.group(2)[0] in "wW" else 1))
        ),
    ),
    (
        re.compile(r"\b(?:on\s+)?(" + _MONTH_RE + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b", re.I),
        lambda m, d: _en_md(m, d, 1, 2),
    ),
    (
        re.compile(
            r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + _MONTH_RE + r")\b(?:,?\s+(\d{4}))?",
            re.I,
        ),
        lambda m, d: _en_md(m, d, 2, 1),
    ),
    (
        re.compile(r"\b(?:on\s+)?(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        lambda m, d: (lambda day: _span(m, day=day) if day else None)(
            _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        ),
    ),
    (re.compile(r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\b\.?", re.I), _en_ampm),
    (
        re.compile(r"\b(?:at\s+)?(noon|midnight)\b", re.I),
        lambda m, d: _span(m, clock=(12, 0) if m.group(1).lower() == "noon" else (0, 0), daypart="noon"),
    ),
    (
        re.compile(
            r"\bat\s+(\d{1,2})(?::(\d{2}))?(?:\s*o'clock)?\b(?!\s*(?:%|percent|years?|yo\b|kg|km|[.,]\d))", re.I
        ),
        _en_at,
    ),
    (re.compile(r"\b(\d{1,2}):(\d{2})\b"), _en_at),
    (
        re.compile(r"\b(?:in\s+the\s+)?(morning|afternoon|evening)\b", re.I),
        lambda m, d: _span(m, daypart=m.group(1).lower()),
    ),
    (re.compile(r"\bat\s+night\b", re.I), lambda m, d: _span(m, daypart="night")),
]


def find_times(text: str, d: date) -> list[Span]:
    """Non-overlapping time expressions, earliest and then longest first."""
    found: list[Span] = []
    for pattern, handler in _ZH_TIMES if is_zh(text) else _EN_TIMES:
        for m in pattern.finditer(text):
            span = handler(m, d)
            if span is not None and span.end > span.start:
                found.append(span)
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    chosen: list[Span] = []
    for span in found:
        if chosen and span.start < chosen[-1].end:
            continue
        if span.loose and not (chosen and chosen[-1].end == span.start):
            continue
        chosen.append(span)
    return chosen


@dataclass
class _When:
    spans: list[Span]
    raw: str
    recurring: bool
    day: date | None
    week_of: date | None
    month: date | None
    clock: tuple[int, int] | None
    daypart: str | None

    @property
    def future(self) -> bool:
        return not self.recurring and any(x is not None for x in (self.day, self.week_of, self.month))

    def due(self) -> str | None:
        if self.recurring or self.day is None:
            return None
        if self.clock:
            return f"{self.day.isoformat()}T{self.clock[0]:02d}:{self.clock[1]:02d}"
        return self.day.isoformat()


def resolve_when(text: str, spans: list[Span], base: datetime) -> _When | None:
    if not spans:
        return None
    day = next((s.day for s in spans if s.day), None)
    daypart = next((s.daypart for s in spans if s.daypart), None)
    clock = next((s.clock for s in spans if s.clock), None)
    recurring = any(s.recurring for s in spans)
    if clock is not None:
        hour, minute = clock
        if daypart in _PM_WORDS or daypart == "pm":
            hour = hour + 12 if hour < 12 else hour
        elif daypart == "中午" and hour < 3:
            hour += 12
        elif daypart is None and 1 <= hour <= 6:
            # Nobody sets a 3 a.m. reminder by saying "3点"/"at 3": read a bare small hour as afternoon.
            hour += 12
        clock = (hour % 24, minute)
    week_of = next((s.week_of for s in spans if s.week_of), None)
    month = next((s.month for s in spans if s.month), None)
    if clock and day is None and not recurring and week_of is None and month is None:
        today = base.date()
        day = today if clock > (base.hour, base.minute) else today + timedelta(days=1)
    joiner = "" if is_zh(text) else " "
    raw = joiner.join(text[s.start : s.end] for s in spans)
    return _When(spans, raw, recurring, day, week_of, month, clock, daypart)


_EN_DAYPART = {"am": "morning", "pm": "afternoon", "noon": "afternoon"}


def render_when(w: _When, lang: Lang, text: str) -> str:
    """The time as it should read in a memory: recurring times as said, others as ISO dates."""
    if w.recurring:
        return w.raw
    if lang == "zh":
        if w.day:
            out = w.day.isoformat()
            if w.clock:
                out += f" {w.clock[0]:02d}:{w.clock[1]:02d}"
            elif w.daypart:
                out += w.daypart
            return "在" + out
        if w.week_of:
            return f"在{w.week_of.isoformat()}那一周"
        if w.month:
            return f"在{w.month.year}年{w.month.month}月"
        return ""
    if w.day:
        before = text[: w.spans[0].start].rstrip().lower()
        bare = re.search(r"\b(?:by|before|until|till|after|from|since|of)$", before) is not None
        out = ("" if bare else "on ") + w.day.isoformat()
        if w.clock:
            out += f" at {w.clock[0]:02d}:{w.clock[1]:02d}"
        elif w.daypart:
            part = _EN_DAYPART.get(w.daypart, w.daypart)
            out += " at night" if part == "night" else f" in the {part}"
        return out
    if w.week_of:
        return f"in the week of {w.week_of.isoformat()}"
    if w.month:
        return f"in {calendar.month_name[w.month.month]} {w.month.year}"
    return ""


def replace_times(text: str, spans: list[Span], rendered: str) -> str:
    """The text with its first time expression replaced by ``rendered`` and the others removed."""
    out, prev = [], 0
    for i, s in enumerate(spans):
        out.append(text[prev : s.start])
        if i == 0:
            out.append(rendered if is_zh(text) else f" {rendered} ")
        prev = s.end
    out.append(text[prev:])
    joined = "".join(out)
    if not is_zh(text):
        # "remind me tomorrow at 10 to" leaves a stray "at"/"on" when only the bare number was a time.
        joined = re.sub(r"\b(?:at|on)\s+(?=on\b|at\b|in the\b)", "", joined)
    return tidy(joined)


def only_time(clause: str, d: date) -> bool:
    spans = find_times(clause, d)
    if not spans:
        return False
    rest = replace_times(clause, spans, "")
    return not re.sub(r"[\s,，、:：]|请|at|on|in|the", "", rest, flags=re.I)
