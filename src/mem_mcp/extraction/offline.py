"""The offline, rule-based extractor: the default when no LLM is configured (DESIGN §5).

``OfflineExtractor`` reads the ``user`` turns of a conversation (and, for the ``tool`` strategy, the
``tool`` turns), splits them into sentences and clauses, and matches each clause against hand-written
Chinese and English patterns. What matches is rewritten in the third person, in the clause's own
language ("我住在上海" -> "用户住在上海", "I live in Berlin" -> "The user lives in Berlin"), and proposed
as a ``CandidateMemory``. It never reconciles (``decisions`` is ``None``): consolidation decides with its
thresholds and the candidates' ``key`` slots.

Rule families, tried in this order on each clause (the first that matches wins):

* retractions: "忘掉我的地址", "别记我的电话了", "forget my address" -> ``retracts=True``;
* reminders: "每天上午11点提醒我点外卖", "remind me to call mom tomorrow at 10";
* tool reports (``tool`` strategy): "the build failed because of X", "用 pytest -x 跑测试更快";
* changes: "我不喝咖啡了，现在只喝茶", "I don't drink coffee anymore", "I no longer work at X";
* personal facts: name, where the user lives/comes from/works/studies, job, age, birthday, family,
  pets, allergies and health, languages, "my X is Y";
* explicit preferences: like/love/prefer/hate, drinks and diet, favourites, standing answer style;
* plans: a first-person clause with a future date ("我下周五要飞东京", "I'm flying to Tokyo next Friday")
  or a plan verb ("我打算…", "I plan to…");
* habits: a first-person clause with a recurring time ("我每天跑步", "I run every morning");
* "记住…" / "remember that…" followed by any first-person statement.

Relative dates ("明天", "下周一", "后天", "tomorrow", "next Friday", "in 3 days") are resolved against
the message's own ``created_at`` in its own time zone, never converted, and written into the text as
ISO dates; recurring times ("每天上午11点", "every day at 9am") are kept as said.

Limits, honestly:

* Coverage is whatever the patterns cover. Paraphrases, typos, slang, sarcasm, mixed-language clauses
  and unusual word orders are missed; a missed fact is simply not remembered.
* No coreference: "it", "that", "她" are never resolved; clauses whose object is only a pronoun are
  dropped. A clause without a subject inherits "I/我" only from the previous clause of the same sentence.
* No inference: implicit preferences ("another espresso, please") are not extracted; nothing is
  concluded from several messages together. Two small guesses are made: a bare hour from 1 to 6
  with no "am/pm/上午/下午" is read as afternoon, and a clock time with no date means its next
  occurrence after the message.
* "next Friday" is read as the Friday of next calendar week (weeks start on Monday), as "下周五" is.
* Questions, greetings, thanks, filler and requests to the assistant are not memories; a question
  that happens to state a fact ("I'm vegetarian, what should I cook?") keeps only its statement clause.
* Custom strategies are left to the LLM extractors; ``episodic`` gets one plain sentence per call
  listing what the user said or asked. ``summary`` is extractive, not written: the run's previous
  summary plus the user's new statements and requests as matched above, condensed ("用户在本次对话中：
  希望…；不再喝咖啡…。"), oldest dropped first past 15 items or 600 characters. What the rules do not
  match is not in it, and nothing is paraphrased or merged.

With a profile schema, ``profile_rules.py`` fills the schema's attributes from the same clauses.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable, Literal

from .base import CandidateMemory, ExtractionInput, ExtractionResult, ExtractMessage

__all__ = ["OfflineExtractor", "Sentence", "split_sentences"]

Lang = Literal["zh", "en"]
Kind = Literal[
    "personal", "preference", "change", "reminder", "plan", "habit", "retract", "tool", "request"
]
Meta = dict[str, str | int | float | bool]

_BUILTINS = frozenset({"fact", "preference", "episodic", "summary", "profile", "tool"})
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


# --------------------------------------------------------------------------------------------------
# Hits: what one rule found in one clause, before it is mapped onto the requested strategies.


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


def _is_zh(text: str) -> bool:
    return bool(_CJK.search(text))


def _apos(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'")


# --------------------------------------------------------------------------------------------------
# Sentences and clauses.

# A '.' ends a sentence only before whitespace or the end, so "10.5" and "v1.2" survive; ':' never splits.
_SENTENCE_END = re.compile(r"((?:[。！？!?；;\n…]|\.{2,}|\.(?=\s|$|[\"'”’)]))+)")

_LEAD_WITH_SEP = re.compile(
    r"^(?:你好|您好|嗨|哈喽|哈啰|嘿|早上好|早安|晚上好|晚安|下午好|嗯+|哦+|噢|啊|哎|唉|好的|好吧|好|行|对|是的|"
    r"没错|谢谢|多谢|感谢|哈哈+|ok|okay|hi|hello|hey|yes|yeah|yep|well|oh|so|sure|great|thanks|thank you|"
    r"cool|alright|hmm+|um+)(?:[\s,，!！~～.。、:：]+|$)",
    re.IGNORECASE,
)
_LEAD_FREE = re.compile(
    r"^(?:对了|其实|另外|顺便说一下|顺便提一下|顺便说一句|顺便|话说|说起来|是这样的|跟你说|告诉你|btw|by the way|"
    r"actually|just so you know|fyi|for the record|anyway)(?:[\s,，:：]+|(?=[\u4e00-\u9fff]))",
    re.IGNORECASE,
)
_ZH_CONJ = re.compile(r"^(?:但是|但|而且|并且|不过|另外|同时|然后|所以|因为|可是|还有|对了|其实|而)\s*")
_EN_CONJ = re.compile(
    r"^(?:and|but|so|plus|also|then|although|though|because|oh|well|actually|btw|anyway|now|currently|"
    r"nowadays|these days)\b[,\s]*",
    re.IGNORECASE,
)
_ZH_STARTER = re.compile(
    r"^(?:我|你|请|帮我|麻烦|提醒|记得|记住|忘|别|不要|以后|今后|现在|目前|住在|在|今年|喜欢|不喜欢|讨厌|爱|最爱|"
    r"是|有|养|对|会|也|还|不|只|每|明天|后天|今天|今晚|下周|下个|这周|周[一二三四五六日天末]|星期|用|家|把)"
)
_ZH_INHERIT = re.compile(
    r"^(?:住在|在|今年|喜欢|不喜欢|讨厌|爱|最爱|最喜欢|是|有|养|对|会|也|还|不|只|现在|目前|平时|一般|从来|已经|最近|"
    r"刚|每天|更喜欢)"
)
_EN_VERB_START = r"(?:live|work|study|like|love|hate|prefer|have|speak|drink|eat|own|am|enjoy|moved)"
# Family members: a clause about one of them is about that person, and so is a following clause without
# a subject ("我老婆叫李娜，是小学老师": the wife is the teacher, not the user).
_ZH_RELATIVE = r"(?:老婆|妻子|太太|老公|丈夫|先生|女朋友|男朋友|儿子|女儿|孩子|妈妈|母亲|爸爸|父亲|哥哥|姐姐|弟弟|妹妹)"
_EN_RELATIVE = (
    r"(?:wife|husband|partner|girlfriend|boyfriend|son|daughter|mother|mom|mum|father|dad|brother|sister|kid|child)"
)
_ZH_RELATIVE_SUBJECT = re.compile(rf"^我的?{_ZH_RELATIVE}")
_EN_RELATIVE_SUBJECT = re.compile(rf"(?i)^my\s+{_EN_RELATIVE}\b")
_EN_THIRD_PERSON_START = re.compile(r"(?i)^(?:is|works|lives|teaches|studies|has|likes|loves|was)\b")
_EN_STARTER = re.compile(
    r"^(?:i\b|i'm\b|i've\b|i'd\b|i'll\b|my\b|please\b|remind\b|forget\b|remember\b|don't\b|do not\b|"
    + _EN_VERB_START
    + r"\b|call me\b|can you\b|could you\b|tomorrow\b|today\b|tonight\b|next\b|every\b|"
    r"on (?:mon|tues|wednes|thurs|fri|satur|sun)day\b|"
    # A question tacked on after a statement ("I'm allergic to peanuts, what can I eat?") is its own clause.
    r"(?:what|what's|how|why|where|when|who|which|can|could|would|do|does|is|are|should)\b)",
    re.IGNORECASE,
)
_EN_SPLIT = re.compile(
    r"([,，]\s*|\s+(?=(?:and|but|so)\s+(?:i\b|i'm\b|i've\b|my\b|now\b|" + _EN_VERB_START + r"\b)))",
    re.IGNORECASE,
)
_ZH_TRAIL = re.compile(r"(?:[，,]?\s*(?:你呢|你觉得呢|对吧|对吗|是吧|你知道吗)|哈哈+|[啊呀哦噢哈啦嘛呗~～])+$")
_EN_TRAIL = re.compile(
    r"[,\s]+(?:do you|don't you|and you|how about you|what about you|right|ok|okay|you know|lol|haha)\s*$",
    re.IGNORECASE,
)


def _strip_lead(text: str) -> str:
    prev = None
    text = text.strip()
    while prev != text:
        prev = text
        text = _LEAD_WITH_SEP.sub("", text, count=1).strip()
        text = _LEAD_FREE.sub("", text, count=1).strip()
    return text


def _sentences(text: str) -> list[tuple[str, bool]]:
    """(sentence, ends with a question mark) pairs."""
    parts = _SENTENCE_END.split(text)
    out: list[tuple[str, bool]] = []
    for i in range(0, len(parts), 2):
        body = parts[i].strip()
        term = parts[i + 1] if i + 1 < len(parts) else ""
        if body:
            out.append((body, "?" in term or "？" in term))
    return out


def _clean(clause: str, lang: Lang) -> str:
    clause = _strip_lead(clause).strip(" \t,，、:：\"'“”")
    if lang == "zh":
        clause = _ZH_TRAIL.sub("", clause)
        if clause.endswith("呢"):
            clause = clause[:-1]
    else:
        clause = _EN_TRAIL.sub("", _apos(clause))
    return clause.strip(" \t,，、")


def _clauses(sentence: str, question: bool = False) -> list[str]:
    """Split a sentence into clauses where the next piece can stand alone (a subject or a known verb
    starts it), so "I like apples, bananas and pears" stays whole and "我叫张三，住在上海" splits. In a
    question every comma splits: "I'm vegetarian, any dinner ideas?" keeps its statement apart."""
    zh = _is_zh(sentence)
    pieces = re.split(r"([，,]\s*)", sentence) if zh else _EN_SPLIT.split(sentence)
    clauses: list[str] = []
    sep = ""
    for i, piece in enumerate(pieces):
        if i % 2 == 1:
            sep = piece
            continue
        if not piece.strip():
            continue
        core = (_ZH_CONJ if zh else _EN_CONJ).sub("", _strip_lead(piece))
        starter = _ZH_STARTER if zh else _EN_STARTER
        if clauses and not question and not starter.match(core):
            clauses[-1] += sep + piece
        else:
            clauses.append(piece)
    return clauses


# --------------------------------------------------------------------------------------------------
# Times and dates.

_CN_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_EN_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10}
_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_EN_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EN_MONTHS = {
    name.lower(): i for names in (calendar.month_name, calendar.month_abbr) for i, name in enumerate(names) if name
} | {"sept": 9}
_MONTH_RE = "|".join(sorted(_EN_MONTHS, key=len, reverse=True))
_PM_WORDS = {"下午", "傍晚", "晚上", "夜里", "半夜", "今晚", "明晚", "今夜", "afternoon", "evening", "night", "tonight"}


def _num(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    if text in _EN_NUM:
        return _EN_NUM[text]
    if not text or any(c not in _CN_DIGIT and c not in "十百" for c in text):
        return None
    total = current = 0
    for c in text:
        if c == "百":
            total, current = total + (current or 1) * 100, 0
        elif c == "十":
            total, current = total + (current or 1) * 10, 0
        else:
            current = _CN_DIGIT[c]
    return total + current


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
class _Span:
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


_Handler = Callable[[re.Match[str], date], "_Span | None"]


def _span(m: re.Match[str], **kw: object) -> _Span:
    return _Span(m.start(), m.end(), **kw)  # type: ignore[arg-type]


def _zh_rel(m: re.Match[str], d: date) -> _Span:
    word = m.group(0)
    offset = {"今": 0, "明": 1, "后": 2, "大": 3}[word[0]]
    part = {"早": "早上", "晚": "晚上", "夜": "晚上"}.get(word[-1])
    return _span(m, day=d + timedelta(days=offset), daypart=part)


def _zh_weekday(m: re.Match[str], d: date) -> _Span:
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


def _zh_md(m: re.Match[str], d: date) -> _Span | None:
    month, dom = _num(m.group(2)), _num(m.group(3))
    if month is None or dom is None:
        return None
    if m.group(1):
        day = _safe_date(int(m.group(1)), month, dom)
    else:
        day = _safe_date(d.year, month, dom)
        if day is not None and day < d:
            day = _safe_date(d.year + 1, month, dom)
    return _span(m, day=day) if day else None


def _dom(m: re.Match[str], d: date, next_month: bool = False) -> _Span | None:
    dom = _num(m.group(1))
    if dom is None:
        return None
    base = _month_after(d) if next_month else d
    day = _safe_date(base.year, base.month, dom)
    if not next_month and (day is None or day < d):
        nm = _month_after(d)
        day = _safe_date(nm.year, nm.month, dom)
    return _span(m, day=day) if day else None


def _zh_clock(m: re.Match[str], d: date) -> _Span | None:
    hour = _num(m.group(1))
    if hour is None or hour > 24:
        return None
    tail = m.group(0)
    minute = 0
    if m.group(2):
        minute = _num(m.group(2)) or 0
    elif "半" in tail:
        minute = 30
    elif "三刻" in tail:
        minute = 45
    elif "一刻" in tail:
        minute = 15
    loose = not m.group(1).isdigit() and not re.search(r"[分半刻钟整]", tail)
    return _span(m, clock=(hour % 24, minute % 60), loose=loose)


_ZH_TIMES: list[tuple[re.Pattern[str], _Handler]] = [
    (re.compile(r"每(?:天|日|晚|早|个?周[一二三四五六日天末]?|个?星期[一二三四五六日天]?|个?礼拜[一二三四五六日天]?|"
                r"个?工作日|个?月(?:\d{1,2}|[一二三四五六七八九十]{1,3})[号日]|个?月|年)"),
     lambda m, d: _span(m, recurring=True)),
    (re.compile(r"(?:(\d{4})年)?(\d{1,2}|[一二三四五六七八九十]{1,3})月(\d{1,2}|[一二三四五六七八九十]{1,3})[日号]"), _zh_md),
    (re.compile(r"(下下|下|这|本|上)?个?(?:周|星期|礼拜)([一二三四五六日天末])"), _zh_weekday),
    (re.compile(r"(下|这|本)个?(?:周|星期|礼拜)"),
     lambda m, d: _span(m, week_of=_monday(d) + timedelta(days=7 if m.group(1) == "下" else 0))),
    (re.compile(r"下个?月(\d{1,2}|[一二三四五六七八九十]{1,3})[号日]"), lambda m, d: _dom(m, d, next_month=True)),
    (re.compile(r"下个?月"), lambda m, d: _span(m, month=_month_after(d))),
    (re.compile(r"大后天|后天|明天|明日|明早|明晚|明儿|今天|今日|今早|今晚|今夜"), _zh_rel),
    (re.compile(r"(\d+|[一二两三四五六七八九十]+)(?:天|日)(?:后|以后|之后)"),
     lambda m, d: _span(m, day=d + timedelta(days=_num(m.group(1)) or 0))),
    (re.compile(r"(\d+|[一二两三四五六七八九十]+)个?(?:星期|周|礼拜)(?:后|以后|之后)"),
     lambda m, d: _span(m, day=d + timedelta(weeks=_num(m.group(1)) or 0))),
    (re.compile(r"(\d{1,2})[号日](?![子期本元线楼房车])"), _dom),
    (re.compile(r"早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨"), lambda m, d: _span(m, daypart=m.group(0))),
    (re.compile(r"(\d{1,2})[:：](\d{2})"),
     lambda m, d: _span(m, clock=(int(m.group(1)) % 24, int(m.group(2)) % 60))),
    (re.compile(r"(\d{1,2}|[零一二两三四五六七八九十]{1,3})(?:点|时)(?!点|儿)(?:钟)?"
                r"(?:(\d{1,2}|[一二三四五六七八九十]{1,3})分|半|一刻|三刻|整)?"), _zh_clock),
]


def _en_rel(m: re.Match[str], d: date) -> _Span:
    word = m.group(1).lower()
    offset = 1 if word == "tomorrow" else 0
    part = m.group(2).lower() if m.group(2) else ("night" if word == "tonight" else None)
    return _span(m, day=d + timedelta(days=offset), daypart=part)


def _en_weekday(m: re.Match[str], d: date) -> _Span:
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


def _en_next(m: re.Match[str], d: date) -> _Span:
    which, unit = m.group(1).lower(), m.group(2).lower()
    week = _monday(d) + timedelta(days=7 if which == "next" else 0)
    if unit == "week":
        return _span(m, week_of=week)
    if unit == "weekend":
        return _span(m, day=week + timedelta(days=5))
    if unit == "month":
        return _span(m, month=_month_after(d))
    return _span(m, month=date(d.year + 1, 1, 1))


def _en_md(m: re.Match[str], d: date, month_group: int, day_group: int) -> _Span | None:
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


def _en_ampm(m: re.Match[str], d: date) -> _Span | None:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 12:
        return None
    hour = hour % 12 + (12 if m.group(3).lower() == "p" else 0)
    return _span(m, clock=(hour, minute % 60), daypart="pm" if hour >= 12 else "am")


def _en_at(m: re.Match[str], d: date) -> _Span | None:
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    return _span(m, clock=(hour, minute % 60)) if hour <= 24 else None


_EN_TIMES: list[tuple[re.Pattern[str], _Handler]] = [
    (re.compile(r"\b(?:every\s+(?:single\s+)?(?:day|morning|afternoon|evening|night|week|weekday|weekend|month|year|"
                r"(?:mon|tues|wednes|thurs|fri|satur|sun)day)|daily|weekly|monthly|each\s+(?:day|morning|evening|"
                r"night|week)|(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)days)\b", re.I),
     lambda m, d: _span(m, recurring=True)),
    (re.compile(r"\bthe\s+day\s+after\s+tomorrow\b", re.I), lambda m, d: _span(m, day=d + timedelta(days=2))),
    (re.compile(r"\b(today|tomorrow|tonight)(?:\s+(morning|afternoon|evening|night))?\b", re.I), _en_rel),
    (re.compile(r"\bthis\s+(morning|afternoon|evening)\b", re.I),
     lambda m, d: _span(m, day=d, daypart=m.group(1).lower())),
    (re.compile(r"\b(?:(on|next|this|this\s+coming|coming|last)\s+)?(" + "|".join(_EN_WEEKDAYS) + r")\b", re.I),
     _en_weekday),
    (re.compile(r"\b(next|this)\s+(week|weekend|month|year)\b", re.I), _en_next),
    (re.compile(r"\bin\s+(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(days?|weeks?)\b", re.I),
     lambda m, d: _span(m, day=d + timedelta(days=(_num(m.group(1)) or 0) * (7 if m.group(2)[0] in "wW" else 1)))),
    (re.compile(r"\b(?:on\s+)?(" + _MONTH_RE + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b", re.I),
     lambda m, d: _en_md(m, d, 1, 2)),
    (re.compile(r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + _MONTH_RE + r")\b(?:,?\s+(\d{4}))?",
                re.I),
     lambda m, d: _en_md(m, d, 2, 1)),
    (re.compile(r"\b(?:on\s+)?(\d{4})-(\d{1,2})-(\d{1,2})\b"),
     lambda m, d: (lambda day: _span(m, day=day) if day else None)(
         _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3))))),
    (re.compile(r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\b\.?", re.I), _en_ampm),
    (re.compile(r"\b(?:at\s+)?(noon|midnight)\b", re.I),
     lambda m, d: _span(m, clock=(12, 0) if m.group(1).lower() == "noon" else (0, 0), daypart="noon")),
    (re.compile(r"\bat\s+(\d{1,2})(?::(\d{2}))?(?:\s*o'clock)?\b(?!\s*(?:%|percent|years?|yo\b|kg|km|[.,]\d))", re.I),
     _en_at),
    (re.compile(r"\b(\d{1,2}):(\d{2})\b"), _en_at),
    (re.compile(r"\b(?:in\s+the\s+)?(morning|afternoon|evening)\b", re.I),
     lambda m, d: _span(m, daypart=m.group(1).lower())),
    (re.compile(r"\bat\s+night\b", re.I), lambda m, d: _span(m, daypart="night")),
]


def _find_times(text: str, d: date) -> list[_Span]:
    """Non-overlapping time expressions, earliest and then longest first."""
    found: list[_Span] = []
    for pattern, handler in _ZH_TIMES if _is_zh(text) else _EN_TIMES:
        for m in pattern.finditer(text):
            span = handler(m, d)
            if span is not None and span.end > span.start:
                found.append(span)
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    chosen: list[_Span] = []
    for span in found:
        if chosen and span.start < chosen[-1].end:
            continue
        if span.loose and not (chosen and chosen[-1].end == span.start):
            continue
        chosen.append(span)
    return chosen


@dataclass
class _When:
    spans: list[_Span]
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


def _when(text: str, spans: list[_Span], base: datetime) -> _When | None:
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
    joiner = "" if _is_zh(text) else " "
    raw = joiner.join(text[s.start:s.end] for s in spans)
    return _When(spans, raw, recurring, day, week_of, month, clock, daypart)


_EN_DAYPART = {"am": "morning", "pm": "afternoon", "noon": "afternoon"}


def _render_when(w: _When, lang: Lang, text: str) -> str:
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


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([,，。.!?])", r"\1", text).strip(" ,，")


def _replace_times(text: str, spans: list[_Span], rendered: str) -> str:
    """The text with its first time expression replaced by ``rendered`` and the others removed."""
    out, prev = [], 0
    for i, s in enumerate(spans):
        out.append(text[prev:s.start])
        if i == 0:
            out.append(rendered if _is_zh(text) else f" {rendered} ")
        prev = s.end
    out.append(text[prev:])
    joined = "".join(out)
    if not _is_zh(text):
        # "remind me tomorrow at 10 to" leaves a stray "at"/"on" when only the bare number was a time.
        joined = re.sub(r"\b(?:at|on)\s+(?=on\b|at\b|in the\b)", "", joined)
    return _tidy(joined)


def _only_time(clause: str, d: date) -> bool:
    spans = _find_times(clause, d)
    if not spans:
        return False
    rest = _replace_times(clause, spans, "")
    return not re.sub(r"[\s,，、:：]|请|at|on|in|the", "", rest, flags=re.I)


# --------------------------------------------------------------------------------------------------
# Third-person rendering.

_EN_KEEP = frozenset(
    "can could will would should must may might shall got had was were went made took moved used did quit "
    "became began left met bought thought felt kept lost found spent sent told said ran came saw ate drank wrote "
    "read put set cut hit let hurt".split()
)
_EN_BASE_ED = frozenset("need feed bleed speed proceed succeed exceed breed seed shed embed heed weed plead".split())
_EN_ADVERBS = (
    r"(?:really|truly|absolutely|also|just|generally|usually|actually|definitely|still|totally|always|mostly|"
    r"often|sometimes|never|only|currently|now|recently|mainly|strongly|much|kind of|kinda|no longer|rarely|even|"
    r"already|personally|normally|typically|especially|simply|mostly|prefer to)"
)
_EN_NEG = {
    "don't": "doesn't", "do not": "does not", "haven't": "hasn't", "have not": "has not", "am not": "is not",
    "'m not": "is not",
}
_EN_SWAP: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bI'm\b"), "they're"), (re.compile(r"\bI am\b"), "they are"), (re.compile(r"\bI've\b"), "they've"),
    (re.compile(r"\bI'd\b"), "they'd"), (re.compile(r"\bI'll\b"), "they'll"), (re.compile(r"\bI\b"), "they"),
    (re.compile(r"\bmyself\b", re.I), "themselves"), (re.compile(r"\bmine\b", re.I), "theirs"),
    (re.compile(r"\bmy\b", re.I), "their"), (re.compile(r"\bme\b", re.I), "them"),
    (re.compile(r"\byou're\b", re.I), "the assistant is"), (re.compile(r"\byou are\b", re.I), "the assistant is"),
    (re.compile(r"\byourself\b", re.I), "the assistant"), (re.compile(r"\byours\b", re.I), "the assistant's"),
    (re.compile(r"\byour\b", re.I), "the assistant's"), (re.compile(r"\byou\b", re.I), "the assistant"),
]


def _conj(verb: str) -> str:
    low = verb.lower()
    if low in _EN_NEG:
        return _EN_NEG[low]
    if low in ("have",):
        return "has"
    if low in ("do", "go"):
        return low + "es"
    if low in ("am", "be"):
        return "is"
    if low in _EN_KEEP or (low.endswith("ed") and low not in _EN_BASE_ED) or low.endswith("n't"):
        return verb
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def _swap_en(text: str) -> str:
    for pattern, repl in _EN_SWAP:
        text = pattern.sub(repl, text)
    return text


def _render_en(clause: str) -> str:
    s = _apos(clause).strip().rstrip(".!?,;: ")
    m = re.match(r"(?i)^my\b\s*", s)
    if m:
        return "The user's " + _swap_en(s[m.end():])
    m = re.match(r"(?i)^(?:i'm|i am)\b\s*(not\b\s*)?", s)
    if m:
        return ("The user is not " if m.group(1) else "The user is ") + _swap_en(s[m.end():])
    for head, out in ((r"i've", "has"), (r"i'd", "would"), (r"i'll|i will", "will")):
        m = re.match(rf"(?i)^(?:{head})\b\s*", s)
        if m:
            return f"The user {out} " + _swap_en(s[m.end():])
    m = re.match(r"(?i)^i\s+(don't|do not|didn't|did not|can't|cannot|can not|won't|couldn't|wouldn't|shouldn't|"
                 r"haven't|have not)\b\s*", s)
    if m:
        neg = m.group(1).lower()
        return f"The user {_EN_NEG.get(neg, neg)} " + _swap_en(s[m.end():])
    m = re.match(rf"(?i)^i\s+((?:{_EN_ADVERBS}\s+)*)([a-z']+)\b\s*", s)
    if m:
        return _tidy(f"The user {m.group(1)}{_conj(m.group(2))} " + _swap_en(s[m.end():]))
    return "The user: " + _swap_en(s)


def _swap_zh(text: str) -> str:
    text = re.sub(r"我(?!们)", "用户", text)
    return re.sub(r"你(?!们|好)", "助手", text)


def _render_zh(clause: str) -> str:
    s = clause.strip().rstrip("。！？!?，,；;：: ")
    if s.startswith("我的"):
        return "用户的" + _swap_zh(s[2:])
    if s.startswith("我"):
        return "用户" + _swap_zh(s[1:])
    return "用户" + _swap_zh(s)


def _render(clause: str, lang: Lang) -> str:
    return _render_zh(clause) if lang == "zh" else _render_en(clause)


# --------------------------------------------------------------------------------------------------
# Keys: stable slots for single-valued facts.

_SLOTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"邮箱|邮件|\be-?mail\b", re.I), "email"),
    (re.compile(r"住址|地址|\baddress\b", re.I), "address"),
    (re.compile(r"电话|手机|号码|\bphone\b|\bmobile\b|\bnumber\b", re.I), "phone"),
    (re.compile(r"生日|\bbirthday\b", re.I), "birthday"),
    (re.compile(r"名字|姓名|\bname\b", re.I), "name"),
    (re.compile(r"年龄|\bage\b", re.I), "age"),
    (re.compile(r"公司|单位|\bemployer\b|\bcompany\b|\bworkplace\b", re.I), "employer"),
    (re.compile(r"职业|工作|\bjob\b|\boccupation\b|\bprofession\b", re.I), "job"),
    (re.compile(r"住在哪|城市|\bcity\b|where i live", re.I), "home_city"),
    (re.compile(r"学校|\bschool\b|\buniversity\b|\bcollege\b", re.I), "school"),
    (re.compile(r"车牌|\blicen[cs]e plate\b", re.I), "license_plate"),
]
_ZH_DRINK = re.compile(r"咖啡|茶|奶茶|牛奶|可乐|果汁|酒|啤酒|红酒|白酒|饮料|豆浆|汽水|拿铁|美式")
_EN_DRINK = re.compile(
    r"\b(?:coffee|tea|teas|latte|lattes|espresso|cappuccino|juice|soda|cola|coke|beer|wine|milk|matcha|chai|"
    r"americano|decaf|green tea|black tea)\b",
    re.I,
)
_STYLE = re.compile(r"回答|回复|答案|解释|\banswers?\b|\bresponses?\b|\breplies\b|\bexplanations?\b", re.I)
_FAVOURITES = {
    "颜色": "color", "食物": "food", "电影": "movie", "书": "book", "歌手": "singer", "运动": "sport", "水果": "fruit",
    "饮料": "drink", "音乐": "music", "城市": "city", "球队": "team", "游戏": "game",
}


def _slot(noun: str) -> str | None:
    for pattern, key in _SLOTS:
        if pattern.search(noun):
            return key
    return None


def _pref_key(obj: str) -> str | None:
    if _STYLE.search(obj):
        return "answer_style"
    if _ZH_DRINK.search(obj) or _EN_DRINK.search(obj) or obj.startswith("喝"):
        return "drink"
    return None


def _favourite_key(what: str) -> str:
    what = what.strip().lower()
    word = _FAVOURITES.get(what, what)
    word = re.sub(r"[^a-z0-9]+", "_", word).strip("_")
    return f"favorite_{word}" if word else "favorite"


# --------------------------------------------------------------------------------------------------
# The rules. Each takes a cleaned clause and returns a hit or None.


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


# Retractions --------------------------------------------------------------------------------------

_ZH_FORGET = (
    r"(?:忘掉|忘记|忘了|删掉|删除|删了|清除|清掉|抹掉|(?:不要|别|不用)再?(?:记|保存|存)(?:住|着|录|下)?)"
)
_ZH_RETRACT = [
    re.compile(rf"^(?:请|麻烦|你|帮我|可以|能不能)*{_ZH_FORGET}掉?(?:关于|有关)?(?P<v>我.+?)"
               r"(?:的(?:信息|事情?|记录|内容))?(?:这件事|这个|这条)?(?:吧|了|哦|啊|好吗|好不好|可以吗)*$"),
    re.compile(rf"^(?:请|麻烦|你|帮我)*把(?:关于|有关)?(?P<v>我.+?)(?:的(?:信息|事情?|记录))?(?:这件事|这个|这条)?"
               rf"给?{_ZH_FORGET}(?:吧|了|哦|好吗)*$"),
]
_EN_RETRACT = re.compile(
    r"(?i)^(?:please\s+|can you\s+|could you\s+|would you\s+|you can\s+|you should\s+)*"
    r"(?:forget|delete|erase|remove|drop|wipe|stop remembering|don't remember|do not remember|don't keep|"
    r"do not keep|don't store|do not store|don't save|do not save|no need to remember|unlearn)\s+"
    r"(?:about\s+|everything about\s+|anything about\s+|what i (?:said|told you) about\s+|the fact that\s+)?"
    r"(?P<v>(?:my|that i|that i'm|i|i'm)\b.+?)(?:,?\s*please)?$"
)
_REQUEST_MARK = re.compile(r"(?i)^(?:请|麻烦|能不能|可以|你能|please|can you|could you|would you)")


def _retraction(ctx: _Ctx) -> _Hit | None:
    if ctx.question and not _REQUEST_MARK.match(ctx.clause):
        return None
    if ctx.lang == "zh":
        for pattern in _ZH_RETRACT:
            m = pattern.match(ctx.clause)
            if m:
                what = m.group("v")
                noun = re.fullmatch(r"我的?(.{1,8})", what)
                key = _slot(noun.group(1)) if noun and not re.search(r"喜欢|爱|讨厌|住|在|是|有", what) else None
                natural = "preference" if re.search(r"喜欢|爱|讨厌|喝|吃|偏好", what) or key == "drink" else "fact"
                text = f"用户的{noun.group(1)}" if key and noun else _render_zh(what)
                return _hit(ctx, "retract", text, 0.85, key=key, natural=natural)
        return None
    m = _EN_RETRACT.match(ctx.clause)
    if not m:
        return None
    what = re.sub(r"(?i)^that\s+", "", m.group("v"))
    noun = re.fullmatch(r"(?i)my\s+((?:[\w-]+\s*){1,3})", what)
    key = _slot(noun.group(1)) if noun else None
    natural = "preference" if re.search(r"(?i)\b(?:like|love|prefer|hate|drink|eat)\b", what) else "fact"
    return _hit(ctx, "retract", _render_en(what), 0.85, key=key, natural=natural)


# Reminders ----------------------------------------------------------------------------------------

_ZH_REMIND = re.compile(r"提醒(?:一下)?我|设(?:置)?(?:个|一个)?提醒[:：，,]?")
_EN_REMIND = re.compile(r"(?i)\bremind me\b|\bset (?:a|an|up a) reminder\b(?:\s+for me)?")


def _reminder(ctx: _Ctx) -> _Hit | None:
    pattern = _ZH_REMIND if ctx.lang == "zh" else _EN_REMIND
    if not pattern.search(ctx.clause):
        return None
    text = ctx.clause
    # Times are cut out before the task is read, so "remind me tomorrow at 10 to X" gives the task "X".
    masked, prev = [], 0
    for s in ctx.spans:
        masked.append(text[prev:s.start] + "\x00")
        prev = s.end
    masked.append(text[prev:])
    plain = "".join(masked)
    m = pattern.search(plain)
    if not m:
        return None
    pre, post = plain[: m.start()], plain[m.end():]
    when = _when(text, ctx.spans, ctx.base)
    rendered = _render_when(when, ctx.lang, text) if when else ""
    meta: Meta = {"kind": "reminder"}
    if when and when.recurring:
        meta["recurrence"] = when.raw
    elif when and when.due():
        meta["due"] = when.due() or ""
    if ctx.lang == "zh":
        task = _tidy(post.replace("\x00", "")).lstrip("：:，, ")
        task = re.sub(r"^(?:一下|记得)", "", task)
        task = re.sub(r"[哦吧啊呀啦]+$", "", task)
        if not task:
            return None
        cond = re.sub(r"\x00|请|麻烦|帮忙|帮我|你|记得|到时候|到时|一定|务必|能不能|可以|能|再", "", pre).strip("，, ")
        cond = cond if re.search(r"(?:前|后|之前|之后|时|的时候)$", cond) else ""
        if cond and not cond.startswith("在"):
            cond = "在" + cond
        return _hit(ctx, "reminder", f"用户希望{rendered or cond}被提醒{_swap_zh(task)}", 0.85, metadata=meta)
    task = _tidy(post.replace("\x00", " "))
    task = re.sub(r"(?i)^(?:please\s+)", "", task)
    task = re.sub(r"(?i)[,\s]*(?:please|thanks|thank you)$", "", task)
    prep = "to"
    # "set a reminder for ... to X": the last preposition before the task is the one that counts.
    while tm := re.match(r"(?i)^(to|that|about|of|for)\s+", task):
        prep = {"of": "about", "for": "about"}.get(tm.group(1).lower(), tm.group(1).lower())
        task = task[tm.end():]
    task = re.sub(r"\s+(?:at|on|in)$", "", task.strip())
    if not task:
        return None
    text_out = f"The user wants to be reminded {prep} {_swap_en(task)}"
    return _hit(ctx, "reminder", f"{text_out} {rendered}" if rendered else text_out, 0.85, metadata=meta)


# Tool reports -------------------------------------------------------------------------------------

_ZH_TOOL_GOOD = re.compile(
    r"^用(?P<cmd>.+?)(?P<act>跑|运行|执行|构建|编译|部署|测试|安装|打包|调试|处理|做)(?P<obj>.*?)(?:会|要|就)?"
    r"(?P<better>更快|更好|更稳定|更方便|更省事|更简单|更可靠|快多了|快很多|好用多了|好用|比较快|最快|最好|很快|"
    r"很好用|有效)(?:了|一些|一点|得多)?$"
)
_ZH_TOOL_BAD = re.compile(
    r"^(?P<subj>.+?)(?:又|一直|总是|老是)?(?P<fail>失败|报错|出错|崩溃|崩了|挂了|超时|跑不起来|装不上|编译不过|跑不通|"
    r"不好用|用不了|不能用)了?(?:[，,]?\s*(?:是)?(?:因为|由于|原因是)(?P<cause>.+))?$"
)
_EN_TOOL_BAD = re.compile(
    r"(?i)^(?:the\s+|my\s+|our\s+|this\s+)?(?P<tool>[\w.\-/`' ]{2,40}?)\s+(?:failed|fails|broke|crashed|"
    r"errored(?:\s+out)?|timed\s+out|keeps\s+failing|kept\s+failing|didn't\s+work|doesn't\s+work|did\s+not\s+work|"
    r"does\s+not\s+work)(?:\s+again)?(?:\s+(?P<conn>because(?:\s+of)?|due\s+to|since|as|with|on)\s+(?P<cause>.+))?$"
)
_EN_TOOL_GOOD = re.compile(
    r"(?i)^(?:using|running|use|run)\s+(?P<cmd>.+?)\s+(?:is|was|works|worked|runs|ran|makes\s+\w+|made\s+\w+)\s+"
    r"(?:much\s+|way\s+|a\s+lot\s+)?(?:faster|quicker|better|more\s+reliable|more\s+stable|easier|cleaner)\b.*$"
)
_EN_TOOL_FIX = re.compile(
    r"(?i)^(?P<cmd>`[^`]+`|[\w.\-]+(?:\s+-{1,2}[\w\-=]+)*)\s+(?:fixed|solved|resolved)\s+(?:it|the\s+\w+)$"
)
_NOT_TOOLS = re.compile(r"(?i)^(?:i|it|that|this|everything|something|nothing|we|you|he|she|they|我|你|他|她|它)$")


def _tool_name(command: str) -> str:
    command = command.strip().strip("`'\" ")
    command = re.sub(r"^(?:我的|我们的|这次的?|刚才的?|今天的?|the\s+|my\s+|our\s+)", "", command, flags=re.I)
    first = command.split()[0] if command.split() else command
    return first if re.match(r"^[\w.\-/]+$", first, re.ASCII) else command


def _tool_report(ctx: _Ctx) -> _Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_TOOL_GOOD.match(c)
        if m:
            name = _tool_name(m.group("cmd"))
            return _hit(ctx, "tool", f"工具{name}的经验：{c}", 0.75, metadata={"tool": name, "success": True})
        m = _ZH_TOOL_BAD.match(c)
        if m:
            name = _tool_name(m.group("subj"))
            if _NOT_TOOLS.match(name) or name.startswith("我") or not (m.group("cause") or name.isascii()):
                return None
            text = f"工具{name}{m.group('fail')}" + (f"，原因是{_swap_zh(m.group('cause'))}" if m.group("cause") else "")
            return _hit(ctx, "tool", text, 0.7, metadata={"tool": name, "success": False})
        return None
    m = _EN_TOOL_BAD.match(c)
    if m:
        name = _tool_name(m.group("tool"))
        if _NOT_TOOLS.match(name):
            return None
        text = f"The {m.group('tool').strip()} failed"
        if m.group("cause"):
            text += f" {m.group('conn')} {_swap_en(m.group('cause'))}"
        return _hit(ctx, "tool", f"Tool {name}: {text[0].lower()}{text[1:]}", 0.7,
                    metadata={"tool": name, "success": False})
    for pattern in (_EN_TOOL_GOOD, _EN_TOOL_FIX):
        m = pattern.match(c)
        if m:
            name = _tool_name(m.group("cmd"))
            return _hit(ctx, "tool", f"Tool {name} worked well: {_swap_en(c[0].lower() + c[1:])}", 0.75,
                        metadata={"tool": name, "success": True})
    return None


# Changes ------------------------------------------------------------------------------------------

_ZH_VERB_KEY = {"喝": "drink", "抽": "smoking"}
_ZH_CHANGE = re.compile(
    r"^我(?:现在|已经|最近)?不(?:再)?(?P<verb>喝|吃|抽|用|玩|看)(?P<old>[^，,]+?)了?[，,]\s*(?:我)?"
    r"(?P<new>(?:现在|改|开始|改成|换成|只|都|而是|改为|就)+.+)$"
)
_ZH_STOP = re.compile(r"^我(?:现在|已经|最近)?不(?:再)?(?P<verb>喝|吃|抽)(?P<old>[^，,]+?)了$")
_ZH_QUIT = re.compile(r"^我(?:已经|最近)?戒(?:掉)?(?:了)?(?P<v>烟|酒|咖啡|糖|奶茶)了?$")
_ZH_LEFT_JOB = re.compile(r"^我(?:已经)?不在(?P<org>[^，,]+?)(?:工作|上班)了(?:[，,]\s*(?:我)?(?P<rest>.+))?$")
_ZH_BEFORE_NOW = re.compile(r"^我(?:以前|之前|原来|过去)(?P<old>[^，,]+)[，,]\s*(?:但是?|不过|可是)?(?:我)?(?P<new>(?:现在|如今).+)$")
_EN_DRINK_CHANGE = re.compile(
    r"(?i)^i\s+(?:don't|do not|no longer|stopped|quit|gave up)\s+(?:drink(?:ing)?\s+|having\s+)?(?P<old>.+?)"
    r"(?:\s+any\s?more)?[,;]?\s+(?:and\s+|but\s+)?(?:now\s+)?(?:i\s+)?(?:now\s+)?(?P<only>only\s+|just\s+|mostly\s+)?"
    r"(?:drink|have)\s+(?P<new>.+?)(?:\s+(?:now|instead|these days))?$"
)
_EN_STOP = re.compile(
    r"(?i)^i\s+(?:(?:don't|do not)\s+(?P<verb>drink|eat|smoke|use)\s+(?P<old>.+?)\s+any\s?more|"
    r"(?:no longer|stopped|quit|gave up)\s+(?P<verb2>drinking|eating|smoking|using|drink|eat|smoke|use)\b\s*"
    r"(?P<old2>[^,;]*))$"
)
_EN_LEFT_JOB = re.compile(
    r"(?i)^i\s+(?:no longer|don't|do not)\s+work\s+(?:at|for)\s+(?P<org>[^,;]+?)(?:\s+any\s?more)?"
    r"(?:[,;]?\s+(?:and\s+|but\s+)?(?:i\s+)?(?:now\s+)?(?:work|am\s+working|'m\s+working)\s+(?:now\s+)?(?:at|for)\s+"
    r"(?P<new>[^,;]+?)(?:\s+now)?)?$"
)
_EN_NOW_JOB = re.compile(
    r"(?i)^i\s+(?:now\s+work|work\s+now|started\s+working|just\s+started\s+working|have\s+started\s+working)"
    r"\s+(?:at|for)\s+(?P<org>[^,;]+)$"
)
_EN_SWITCH = re.compile(r"(?i)^i\s+(?:switched|changed|moved)\s+from\s+(?P<old>[^,;]+?)\s+to\s+(?P<new>[^,;]+)$")
_EN_USED_TO = re.compile(r"(?i)^i\s+used\s+to\s+(?P<old>.+?)[,;]?\s+(?:but\s+)?(?:now\s+)?(?P<new>i\b.+)$")
_EN_BASE = {"drinking": "drink", "eating": "eat", "smoking": "smoke", "using": "use"}
_EN_VERB_KEY = {"drink": "drink", "smoke": "smoking"}


def _change(ctx: _Ctx) -> _Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_CHANGE.match(c)
        if m:
            key = _ZH_VERB_KEY.get(m.group("verb")) or (_pref_key(m.group("old")) if m.group("verb") == "喝" else None)
            text = f"用户不再{m.group('verb')}{m.group('old')}，{_swap_zh(m.group('new'))}"
            return _hit(ctx, "change", text, 0.85, key=key, natural="preference", explicit_pref=True)
        m = _ZH_STOP.match(c)
        if m:
            key = _ZH_VERB_KEY.get(m.group("verb"))
            return _hit(ctx, "change", f"用户不再{m.group('verb')}{m.group('old')}", 0.8, key=key, natural="preference",
                        explicit_pref=True)
        m = _ZH_QUIT.match(c)
        if m:
            key = {"烟": "smoking", "酒": "alcohol"}.get(m.group("v"), "drink")
            return _hit(ctx, "change", f"用户已经戒{m.group('v')}了", 0.85, key=key, natural="preference",
                        explicit_pref=True)
        m = _ZH_LEFT_JOB.match(c)
        if m:
            text = f"用户不再在{m.group('org')}工作" + (f"，{_swap_zh(m.group('rest'))}" if m.group("rest") else "")
            return _hit(ctx, "change", text, 0.85, key="employer")
        m = _ZH_BEFORE_NOW.match(c)
        if m:
            both = m.group("old") + m.group("new")
            is_pref = re.search(r"喜欢|爱|喝|吃|讨厌", both) is not None
            key = "home_city" if "住" in both else (_pref_key(both) if is_pref else None)
            text = f"用户以前{_swap_zh(m.group('old'))}，{_swap_zh(m.group('new'))}"
            return _hit(ctx, "change", text, 0.8, key=key, natural="preference" if is_pref else "fact",
                        explicit_pref=is_pref)
        return None
    m = _EN_DRINK_CHANGE.match(c)
    if m and (_EN_DRINK.search(m.group("old")) or _EN_DRINK.search(m.group("new"))):
        only = (m.group("only") or "").strip()
        new = f"{only} drinks {m.group('new')}" if only else f"drinks {m.group('new')}"
        text = f"The user no longer drinks {_swap_en(m.group('old'))} and now {_swap_en(new)}"
        return _hit(ctx, "change", text, 0.85, key="drink", natural="preference", explicit_pref=True)
    m = _EN_STOP.match(c)
    if m:
        said = (m.group("verb") or m.group("verb2")).lower()
        verb = _EN_BASE.get(said, said)
        old = m.group("old") or m.group("old2") or ""
        key = _EN_VERB_KEY.get(verb)
        if verb == "drink" or (verb != "smoke" and _EN_DRINK.search(old)):
            key = "drink"
        return _hit(ctx, "change", _render_en(c), 0.8, key=key, natural="preference", explicit_pref=True)
    m = _EN_LEFT_JOB.match(c)
    if m:
        text = f"The user no longer works at {m.group('org')}"
        if m.group("new"):
            text += f" and now works at {m.group('new')}"
        return _hit(ctx, "change", text, 0.85, key="employer")
    m = _EN_NOW_JOB.match(c)
    if m:
        return _hit(ctx, "change", f"The user now works at {m.group('org')}", 0.85, key="employer")
    m = _EN_SWITCH.match(c)
    if m:
        drink = bool(_EN_DRINK.search(m.group("old")) or _EN_DRINK.search(m.group("new")))
        text = f"The user switched from {_swap_en(m.group('old'))} to {_swap_en(m.group('new'))}"
        return _hit(ctx, "change", text, 0.8, key="drink" if drink else None,
                    natural="preference" if drink else "fact", explicit_pref=drink)
    m = _EN_USED_TO.match(c)
    if m:
        is_pref = re.search(r"(?i)\b(?:like|love|prefer|hate|drink|eat)\b", c) is not None
        text = f"The user used to {_swap_en(m.group('old'))}, but now {_render_en(m.group('new'))[9:]}"
        key = "home_city" if re.search(r"(?i)\blive\b", c) else (_pref_key(c) if is_pref else None)
        return _hit(ctx, "change", text, 0.8, key=key,
                    natural="preference" if is_pref else "fact", explicit_pref=is_pref)
    return None


# Personal facts -----------------------------------------------------------------------------------

_JOB_ZH = (
    r"(?:工程师|程序员|设计师|医生|护士|老师|教师|律师|会计|学生|研究生|博士生?|本科生|大学生|中学生|高中生|经理|总监|"
    r"分析师|科学家|研究员|作家|记者|厨师|司机|销售|主管|老板|创业者|自由职业者|教授|警察|演员|歌手|画家|摄影师|翻译|"
    r"编辑|顾问|架构师|运维|实习生|公务员|工人|农民|店主|产品经理|数据科学家|咨询师|药剂师|建筑师|飞行员|空姐|模特)"
)
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟"
    "谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_NATIONALITIES = (
    r"(?:american|british|english|chinese|german|french|italian|spanish|japanese|korean|indian|canadian|australian|"
    r"brazilian|mexican|russian|dutch|swedish|norwegian|danish|finnish|polish|irish|scottish|swiss|austrian|"
    r"portuguese|greek|turkish|vietnamese|thai|singaporean|taiwanese|malaysian|indonesian|filipino|egyptian|"
    r"nigerian|kenyan|argentinian|chilean|colombian|peruvian|ukrainian|czech|hungarian|israeli|iranian|pakistani)"
)
_JOB_EN = (
    r"(?:engineer|developer|programmer|designer|teacher|doctor|nurse|lawyer|accountant|student|manager|scientist|"
    r"researcher|writer|journalist|chef|cook|driver|consultant|analyst|architect|professor|founder|freelancer|artist|"
    r"musician|photographer|translator|editor|intern|ceo|cto|cfo|pm|dentist|pharmacist|pilot|firefighter|"
    r"police officer|officer|salesperson|marketer|entrepreneur|student|phd student|postdoc|lecturer|therapist|"
    r"librarian|mechanic|electrician|plumber|farmer|economist|administrator|sysadmin|devops engineer|tester)"
)

# (pattern, key, confidence, template or None to render the whole clause in the third person)
_Rule = tuple[re.Pattern[str], str | None, float, str | None]

_ZH_PERSONAL: list[_Rule] = [
    (re.compile(r"^我(?:的名字|的姓名|的全名)(?:是|叫)(?P<v>.{1,20})$"), "name", 0.9, "用户的名字是{v}"),
    (re.compile(r"^我(?:的)?(?:全名|名字)?叫(?!了|过|着)(?P<v>[^，,。\s]{1,12})$"), "name", 0.9, "用户叫{v}"),
    (re.compile(r"^(?:你)?(?:可以|以后)?(?:就)?(?:叫|称呼)我(?P<v>[^，,]{1,10}?)(?:就行|就好|就可以|吧)?了?$"), "nickname", 0.85,
     "用户希望被称为{v}"),
    (re.compile(r"^我姓(?P<v>.{1,2})$"), "surname", 0.85, "用户姓{v}"),
    (re.compile(rf"^我是(?P<v>[{_SURNAMES}][\u4e00-\u9fff]{{1,2}})(?<![人的])$"), "name", 0.65, "用户叫{v}"),
    (re.compile(r"^我(?:现在|目前|一直)?(?:住在|居住在|生活在|定居在?)(?P<v>.+)$"), "home_city", 0.9, None),
    (re.compile(r"^我家(?:住)?在(?P<v>.+)$"), "home_city", 0.85, None),
    (re.compile(r"^我(?:已经|最近|刚刚?|上个月|去年)?(?:搬到|搬去|搬家到)了?(?P<v>[^了，,]+)了?$"), "home_city", 0.85,
     "用户搬到了{v}，现在住在{v}"),
    (re.compile(r"^我(?:是|来自)(?P<v>(?![个一])[\u4e00-\u9fff]{2,10}?)人$"), "hometown", 0.8, "用户是{v}人"),
    (re.compile(r"^我(?:的)?(?:老家|家乡)(?:是|在)(?P<v>.+)$"), "hometown", 0.85, "用户的老家在{v}"),
    (re.compile(r"^我来自(?P<v>.+)$"), "hometown", 0.85, None),
    (re.compile(r"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:工作|上班|任职|实习)了?$"), "employer",
     0.9, None),
    (re.compile(rf"^我(?:现在|目前)?在(?P<v>(?!家|家里|外面|路上|这里|那里).+?)(?:做|当|担任)(?:一名|一个)?.*{_JOB_ZH}$"),
     "employer", 0.85, None),
    (re.compile(rf"^我(?:现在|目前)?(?:是|当)(?:一名|一个|一位|个|名)?(?P<v>.{{0,10}}?{_JOB_ZH})$"), "job", 0.9, None),
    (re.compile(r"^我(?:的工作|的职业|的职位)是(?P<v>.+)$"), "job", 0.85, None),
    (re.compile(r"^我(?:从事|做)(?P<v>.+?)(?:工作|行业|方面的工作)$"), "job", 0.8, None),
    (re.compile(r"^我(?:现在|目前)?在(?P<v>.+?)(?:上学|读书|念书|上大学|读大学|读研|读博|留学)$"), "school", 0.85, None),
    (re.compile(r"^我(?:是|在)(?P<v>.+?)的学生$"), "school", 0.85, None),
    (re.compile(r"^我(?:今年|现在|已经)?(?P<v>\d{1,3}|[一二两三四五六七八九十百]{1,4})岁了?$"), "age", 0.9,
     "用户今年{v}岁（{year}年）"),
    (re.compile(r"^我(?:是)?(?P<v>\d{4})年(?:出生|生)的?$"), "birth_year", 0.9, "用户{v}年出生"),
    (re.compile(r"^我的生日是(?P<v>.+)$"), "birthday", 0.9, None),
    (re.compile(r"^我(?:已经)?(?:结婚|已婚)了?$"), "marital_status", 0.85, "用户已婚"),
    (re.compile(r"^我(?:还是|现在是)?单身(?:狗)?$"), "marital_status", 0.85, "用户单身"),
    (re.compile(rf"^我的?{_ZH_RELATIVE}(?:叫|是|的名字是|今年|在|住在|做|当|从事)(?P<v>.+)$"), None, 0.85, None),
    (re.compile(r"^我(?:家)?有(?P<v>.*(?:儿子|女儿|孩子|个娃|哥哥|姐姐|弟弟|妹妹|兄弟|姐妹))$"), None, 0.8, None),
    (re.compile(r"^我(?:家)?(?:有|养了|养着|养)(?P<v>.*(?:狗|猫|鸟|鹦鹉|鱼|兔子?|仓鼠|乌龟|宠物|狗狗|猫咪))了?$"), None, 0.85,
     None),
    (re.compile(r"^我(?:对)(?P<v>.+?)过敏$"), None, 0.9, None),
    (re.compile(r"^我(?:有|患有|得了)(?P<v>.*(?:病|症|炎|哮喘|高血压|糖尿病|低血糖|近视|失眠|过敏))$"), None, 0.8, None),
    (re.compile(r"^我(?:不能|不可以)(?:吃|喝)(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"^我的母语是(?P<v>.+)$"), "native_language", 0.9, None),
    (re.compile(r"^我(?:会说|会讲|能说|说|讲|会)(?P<v>.*(?:语|话|文))$"), None, 0.8, None),
    (re.compile(r"^我(?:正在|最近在|在)学(?:习)?(?P<v>(?![校院]).+)$"), None, 0.75, None),
    (re.compile(r"^我的(?P<what>(?!问题|意思|想法|建议|天)[^是，,]{1,8})是(?P<v>.+)$"), "@slot", 0.8, None),
]
_EN_PERSONAL: list[_Rule] = [
    (re.compile(r"(?i)^my\s+(?:full\s+)?name\s+is\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+called\s+(?P<v>.+)$"), "name", 0.9, "The user's name is {v}"),
    (re.compile(r"(?i)^(?:you\s+can\s+|please\s+)?call\s+me\s+(?P<v>.+)$"), "nickname", 0.85,
     "The user wants to be called {v}"),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?P<v>{_NATIONALITIES})$"), "nationality", 0.85, None),
    (re.compile(r"^(?:I'm|I am)\s+(?P<v>[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?)$"), "name", 0.75, "The user's name is {v}"),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+|still\s+)?(?:live|reside)\s+in\s+(?P<v>.+)$"), "home_city", 0.9,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+|now\s+)?(?:living|based)\s+in\s+(?P<v>.+)$"), "home_city", 0.9,
     None),
    (re.compile(r"(?i)^(?:i|i've|i\s+have)\s+(?:just\s+|recently\s+)?(?:moved|relocated)\s+to\s+"
                r"(?P<v>.+?)(?:\s+(?:last|this)\s+(?:week|month|year))?$"),
     "home_city", 0.85, "The user lives in {v} (moved there)"),
    (re.compile(r"(?i)^my\s+home\s+is\s+in\s+(?P<v>.+)$"), "home_city", 0.85, "The user lives in {v}"),
    (re.compile(r"(?i)^(?:i'm|i am|i\s+come)\s+(?:originally\s+)?from\s+(?P<v>.+)$"), "hometown", 0.85, None),
    (re.compile(r"(?i)^i\s+(?:currently\s+|now\s+)?work\s+(?:at|for)\s+(?P<v>.+)$"), "employer", 0.9, None),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{_JOB_EN})\s+(?:at|for|with)\s+"
                r"(?P<org>.+)$"),
     "employer", 0.85, None),
    (re.compile(r"(?i)^i\s+work\s+as\s+(?:a|an)\s+(?P<v>.+)$"), "job", 0.9, None),
    (re.compile(rf"(?i)^(?:i'm|i am)\s+(?:a|an)\s+(?P<v>(?:[\w-]+\s+){{0,3}}{_JOB_EN})$"), "job", 0.9, None),
    (re.compile(r"(?i)^my\s+(?:job|profession|occupation|role)\s+is\s+(?P<v>.+)$"), "job", 0.85, None),
    (re.compile(r"(?i)^(?:i\s+study|i\s+am\s+studying|i'm\s+studying)\s+(?:.+\s+)?at\s+(?P<v>.+)$"), "school", 0.85,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:a\s+)?student\s+at\s+(?P<v>.+)$"), "school", 0.85, None),
    (re.compile(r"(?i)^i\s+(?:go\s+to|attend)\s+(?P<v>.+(?:school|university|college|academy))$"), "school", 0.85,
     None),
    (re.compile(r"(?i)^i\s+(?:study|major\s+in)\s+(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>\d{1,3})(?:\s+years?\s+old|\s+years\s+of\s+age|\s+yo)?$"), "age", 0.85,
     "The user is {v} years old (as of {year})"),
    (re.compile(r"(?i)^(?:i\s+was\s+born\s+in)\s+(?P<v>\d{4})$"), "birth_year", 0.9, "The user was born in {v}"),
    (re.compile(r"(?i)^my\s+birthday\s+is\s+(?:on\s+)?(?P<v>.+)$"), "birthday", 0.9, "The user's birthday is {v}"),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>married|engaged|divorced|single|widowed)$"), "marital_status", 0.85, None),
    (re.compile(rf"(?i)^my\s+{_EN_RELATIVE}(?:'s\s+name\s+is|\s+(?:is|works|lives|teaches|studies))\s+(?P<v>.+)$"),
     None, 0.85, None),
    (re.compile(r"(?i)^i\s+have\s+(?P<v>(?:a|an|one|two|three|four|five|\d+)\s+(?:[\w-]+\s+)?(?:son|daughter|kid|child|"
                r"children|brother|sister|twin)s?\b.*)$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i\s+(?:have|own|have\s+got)|i've\s+got)\s+"
                r"(?P<v>.*\b(?:dog|cat|puppy|kitten|parrot|bird|fish|rabbit|"
                r"hamster|turtle|pet|tortoise|guinea pig)s?\b.*)$"), None, 0.85, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:severely\s+|very\s+|mildly\s+)?allergic\s+to\s+(?P<v>.+)$"), None, 0.9, None),
    (re.compile(r"(?i)^i\s+have\s+(?:a\s+|an\s+)?(?P<v>.*(?:allergy|allergies|diabetes|asthma|celiac|hypertension|"
                r"migraines?|adhd|anxiety|depression|insomnia|high blood pressure))$"), None, 0.8, None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>lactose\s+intolerant|diabetic|colou?r\s*blind|pregnant)$"), None, 0.85,
     None),
    (re.compile(r"(?i)^i\s+(?:speak|can\s+speak)\s+(?P<v>.+)$"), None, 0.8, None),
    (re.compile(r"(?i)^my\s+(?:native|first|mother)\s+(?:language|tongue)\s+is\s+(?P<v>.+)$"), "native_language", 0.9,
     None),
    (re.compile(r"(?i)^(?:i'm|i am)\s+(?:currently\s+)?learning\s+(?P<v>.+)$"), None, 0.75, None),
    (re.compile(r"(?i)^my\s+(?P<what>(?!question|problem|issue|point|guess|bad|pleasure|answer|turn|fault)"
                r"[\w' -]{1,30}?)\s+(?:is|are)\s+(?P<v>.+)$"), "@slot", 0.8, None),
]


def _personal(ctx: _Ctx) -> _Hit | None:
    rules = _ZH_PERSONAL if ctx.lang == "zh" else _EN_PERSONAL
    for pattern, key, confidence, template in rules:
        m = pattern.match(ctx.clause)
        if not m:
            continue
        values = {k: (v or "").strip() for k, v in m.groupdict().items()}
        if any(re.fullmatch(r"(?i)it|that|this|you|你|它|这个|那个", v) for v in values.values()):
            return None
        if key == "@slot":
            if any(s.day or s.week_of or s.month for s in ctx.spans):
                continue  # "my flight is on Friday" is a plan, not a slot
            key = _slot(values.get("what", ""))
            if ctx.lang == "en" and re.search(r"(?i)favou?rite", values.get("what", "")):
                return None
        if template is None:
            text = _render(ctx.clause, ctx.lang)
        else:
            text = template.format(year=ctx.today.year, **values)
        return _hit(ctx, "personal", text, confidence, key=key)
    return None


# Preferences --------------------------------------------------------------------------------------

_ZH_ADV = r"(?:也|还|很|非常|特别|最|比较|挺|真的|超|一直|都|其实|更|平时|一般|从来|比起.{1,8})*"
_ZH_LIKE = re.compile(
    rf"^我{_ZH_ADV}(?P<verb>不太喜欢|不喜欢|不爱|喜欢|热爱|偏爱|偏好|喜爱|享受|讨厌|受不了|反感|厌恶|更倾向于?|倾向于|"
    r"习惯|爱)(?P<v>.+)$"
)
_ZH_DRINK_HABIT = re.compile(
    r"^我(?:也|还|现在|目前)?(?:只|就|都|每天都?|每天早上|平时|一般|通常|经常|总是|早上|早餐)+(?:只|都|会)?(?P<verb>喝|吃)(?P<v>.+)$"
)
_ZH_NEVER = re.compile(r"^我(?:从不|从来不|不)(?P<verb>吃|喝|碰)(?P<v>.+)$")
_ZH_DIET = re.compile(r"^我(?:吃素|是素食(?:主义)?者|只吃素|吃全素)$")
_ZH_FAVOURITE = re.compile(r"^我(?:最喜欢|最爱)的(?P<what>.+?)是(?P<v>.+)$")
_ZH_STANDING = re.compile(
    r"^(?:以后|之后|今后|从现在起|从现在开始|一直)(?:请|麻烦)?(?:你)?(?:都|一律|尽量)?(?:(?:用|使用)(?P<lang>中文|英文|英语|汉语|"
    r"日语|简体中文|繁体中文)(?:来)?(?:回答|回复|和我交流|跟我说话|跟我聊|交流)(?:我)?|(?:回答|回复)(?:得|要|都)?"
    r"(?P<style>简洁|简短|详细|简单|短|长)(?:一点|一些|些)?)(?:吧)?$"
)
_EN_LIKE = re.compile(
    rf"(?i)^i\s+(?P<adv>(?:{_EN_ADVERBS}\s+)*)(?P<verb>like|love|enjoy|prefer|adore|hate|dislike|detest|can't\s+stand|"
    r"cannot\s+stand|don't\s+like|do\s+not\s+like|don't\s+enjoy|do\s+not\s+enjoy|don't\s+love)\s+(?P<v>.+)$"
)
_EN_FAN = re.compile(r"(?i)^(?:i'm|i am)\s+(?P<v>(?:not\s+)?(?:a\s+)?(?:big\s+|huge\s+)?fan\s+of\s+.+|"
                     r"(?:really\s+)?into\s+.+|"
                     r"fond\s+of\s+.+)$")
_EN_DRINK_HABIT = re.compile(
    r"(?i)^i\s+(?:only|usually|always|mostly|just|normally|typically|generally)\s+(?:drink|have)\s+(?P<v>.+)$"
)
_EN_DAILY_DRINK = re.compile(r"(?i)^i\s+(?:drink|have)\s+(?P<v>.+?)\s+(?:every|each)\s+(?:day|morning)$")
_EN_NEVER = re.compile(r"(?i)^i\s+(?:don't|do\s+not|never)\s+(?P<verb>eat|drink)\s+(?P<v>.+)$")
_EN_DIET = re.compile(r"(?i)^(?:i'm|i am)\s+(?:a\s+)?(?P<v>vegetarian|vegan|pescatarian)$")
_EN_FAVOURITE = re.compile(r"(?i)^my\s+favou?rite\s+(?P<what>[\w ]+?)\s+(?:is|are)\s+(?P<v>.+)$")
_EN_STANDING = re.compile(
    r"(?i)^(?:from\s+now\s+on|going\s+forward|in\s+(?:the\s+)?future|always)[,\s]+(?:please\s+)?(?:always\s+)?"
    r"(?:(?:answer|reply|respond|talk\s+to\s+me|write(?:\s+to\s+me)?)\s+in\s+(?P<lang>\w+)|"
    r"(?:keep\s+(?:your\s+)?(?:answers|replies|responses)|be)\s+(?P<style>short|brief|concise|detailed|"
    r"thorough))(?:\s+please)?$"
)
_PRONOUN_OBJECT = re.compile(
    r"(?i)^(?:it|that|this|these|those|you|them|him|her|this one|that one|it a lot|you too|your\b.*|this\s+answer.*|"
    r"你|它|他|她|这个|那个|这样|那样|你们|你的.*)$"
)
_NOT_PREF_EN = re.compile(r"(?i)^(?:to\s+(?:know|ask|say|see|think|hear)\b|when\s+you\b)")


def _pref(ctx: _Ctx, text: str, obj: str, confidence: float, key: str | None = None) -> _Hit:
    return _hit(ctx, "preference", text, confidence, key=key if key is not None else _pref_key(obj),
                explicit_pref=True)


def _preference(ctx: _Ctx) -> _Hit | None:
    c = ctx.clause
    if ctx.lang == "zh":
        m = _ZH_STANDING.match(c)
        if m:
            if m.group("lang"):
                return _pref(ctx, f"用户希望助手用{m.group('lang')}回答", "", 0.85, key="reply_language")
            return _pref(ctx, f"用户希望助手的回答{m.group('style')}一些", "", 0.85, key="answer_style")
        if _ZH_DIET.match(c):
            return _pref(ctx, _render_zh(c), "", 0.85, key="diet")
        m = _ZH_FAVOURITE.match(c)
        if m:
            return _pref(ctx, _render_zh(c), "", 0.85, key=_favourite_key(m.group("what")))
        for pattern, confidence in ((_ZH_DRINK_HABIT, 0.85), (_ZH_NEVER, 0.8)):
            m = pattern.match(c)
            if m:
                key = "drink" if m.group("verb") == "喝" else None
                return _pref(ctx, _render_zh(c), m.group("v"), confidence, key=key or "")
        m = _ZH_LIKE.match(c)
        if m and not _PRONOUN_OBJECT.match(m.group("v")):
            return _pref(ctx, _render_zh(c), m.group("v"), 0.85)
        return None
    m = _EN_STANDING.match(c)
    if m:
        if m.group("lang"):
            return _pref(ctx, f"The user wants the assistant to reply in {m.group('lang')}", "", 0.85,
                         key="reply_language")
        return _pref(ctx, f"The user wants the assistant's answers to be {m.group('style')}", "", 0.85,
                     key="answer_style")
    m = _EN_DIET.match(c)
    if m:
        return _pref(ctx, f"The user is {m.group('v').lower()}", "", 0.85, key="diet")
    m = _EN_FAVOURITE.match(c)
    if m:
        return _pref(ctx, _render_en(c), "", 0.85, key=_favourite_key(m.group("what")))
    for pattern, confidence in ((_EN_DRINK_HABIT, 0.85), (_EN_DAILY_DRINK, 0.8)):
        m = pattern.match(c)
        if m and _EN_DRINK.search(m.group("v")):
            return _pref(ctx, _render_en(c), m.group("v"), confidence, key="drink")
    m = _EN_NEVER.match(c)
    if m:
        key = "drink" if m.group("verb").lower() == "drink" else ""
        return _pref(ctx, _render_en(c), m.group("v"), 0.8, key=key)
    m = _EN_LIKE.match(c)
    if m and not _PRONOUN_OBJECT.match(m.group("v")) and not _NOT_PREF_EN.match(m.group("v")):
        return _pref(ctx, _render_en(c), m.group("v"), 0.85)
    m = _EN_FAN.match(c)
    if m:
        return _pref(ctx, _render_en(c), m.group("v"), 0.8)
    return None


# Plans and habits ---------------------------------------------------------------------------------

_ZH_PLAN_VERB = re.compile(r"打算|计划|准备")
_ZH_AFTER_TIME = re.compile(r"^(?:我)?(?:要|得|需要|打算|计划|准备|会|有|去|飞|出差|开会|考试|面试|约了)")
_EN_PLAN_VERB = re.compile(r"(?i)^i\s+(?:plan|am\s+planning|'m\s+planning|intend|am\s+going\s+to\s+start)\b|"
                           r"^(?:i'm|i am)\s+planning\b")
_EN_FIRST_PERSON = re.compile(r"(?i)^(?:i\b|i'm\b|i've\b|i'll\b|i'd\b|my\b)")


def _move_leading_times(ctx: _Ctx) -> tuple[str, list[_Span]]:
    """Put a leading time after the subject ("下周五我要飞东京" -> "我下周五要飞东京"; "Next Friday I'm
    flying to Tokyo" -> "I'm flying to Tokyo next Friday"), so the clause renders from its subject."""
    c, spans = ctx.clause, ctx.spans
    if not spans or spans[0].start != 0:
        return c, spans
    end = 0
    for s in spans:
        if c[end:s.start].strip(" ,，") == "":
            end = s.end
        else:
            break
    lead, rest = c[:end].strip(" ,，"), c[end:].strip(" ,，")
    if ctx.lang == "zh":
        if not rest.startswith("我"):
            if not _ZH_AFTER_TIME.match(rest):
                return c, spans
            rest = "我" + rest
        moved = "我" + lead + rest[1:]
    else:
        if not _EN_FIRST_PERSON.match(rest):
            return c, spans
        moved = f"{rest} {lead}"
    return moved, _find_times(moved, ctx.today)


def _plan(ctx: _Ctx) -> _Hit | None:
    clause, spans = _move_leading_times(ctx)
    when = _when(clause, spans, ctx.base)
    first_person = clause.startswith("我") if ctx.lang == "zh" else bool(_EN_FIRST_PERSON.match(clause))
    if not first_person:
        return None
    plan_verb = (_ZH_PLAN_VERB.search(clause) if ctx.lang == "zh" else _EN_PLAN_VERB.search(clause)) is not None
    if when is not None and when.future:
        if when.day is not None and when.day < ctx.today:
            return None  # a past event is not a plan
        text = _render(_replace_times(clause, spans, _render_when(when, ctx.lang, clause)), ctx.lang)
        meta: Meta = {"kind": "plan"}
        if when.due():
            meta["due"] = when.due() or ""
        return _hit(ctx, "plan", text, 0.75, metadata=meta)
    if plan_verb and (when is None or not when.recurring):
        return _hit(ctx, "plan", _render(clause, ctx.lang), 0.7, metadata={"kind": "plan"})
    return None


def _habit(ctx: _Ctx) -> _Hit | None:
    clause, spans = _move_leading_times(ctx)
    if not any(s.recurring for s in spans):
        return None
    if not (clause.startswith("我") if ctx.lang == "zh" else _EN_FIRST_PERSON.match(clause)):
        return None
    return _hit(ctx, "habit", _render(clause, ctx.lang), 0.7, metadata={"kind": "habit"})


# Requests (only for the episodic summary) ---------------------------------------------------------

_ZH_REQUEST = re.compile(r"^(?:请|麻烦|帮我|帮忙|给我|你能|你可以|能不能|可以|能否|你帮我)+(?:你)?(?:帮我)?(?P<v>.{2,})$")
_EN_REQUEST = re.compile(
    r"(?i)^(?:(?:please|can\s+you|could\s+you|would\s+you|will\s+you|help\s+me)\s+)+(?P<v>.{2,})$|"
    r"^(?P<v2>(?:write|explain|summari[sz]e|translate|tell\s+me|show\s+me|give\s+me|find|generate|create|make|draft|"
    r"list|compare|recommend|suggest|fix|review|check|describe|calculate)\b.+)$"
)


def _request(ctx: _Ctx) -> _Hit | None:
    if ctx.lang == "zh":
        m = _ZH_REQUEST.match(ctx.clause)
        if m and not m.group("v").startswith("你好"):
            return _hit(ctx, "request", f"请助手{_swap_zh(m.group('v'))}", 0.6)
        return None
    m = _EN_REQUEST.match(ctx.clause)
    if m:
        what = (m.group("v") or m.group("v2")).rstrip("?.! ")
        if not what:
            return None
        return _hit(ctx, "request", f"asked the assistant to {_swap_en(what[0].lower() + what[1:])}", 0.6)
    return None


# Questions and "remember that ..." ----------------------------------------------------------------

_ZH_Q_WORDS = re.compile(r"什么|怎么|为什么|为啥|哪|几|多少|谁|是否|能不能|可不可以|是不是|有没有|会不会|要不要|好不好|行不行")
_EN_Q_START = re.compile(
    r"(?i)^(?:what|what's|how|why|when|where|who|whom|which|whose|can|could|would|will|do|does|did|is|are|am|was|were|"
    r"should|shall|may|might|has|had|isn't|aren't|don't|doesn't|didn't|won't|wouldn't|couldn't|shouldn't)\b"
)
_ZH_REMEMBER = re.compile(r"^(?:请|麻烦)?(?:你)?(?:帮我)?(?:记住|记一下|记下|记着)(?:一下)?[：:，,]?\s*")
_EN_REMEMBER = re.compile(
    r"(?i)^(?:please\s+|can\s+you\s+|could\s+you\s+)?(?:remember|note|keep\s+in\s+mind|make\s+a\s+note)"
    r"(?:\s+that)?[:,]?\s+(?=i\b|i'm\b|my\b|i've\b)"
)


def _is_question(clause: str, lang: Lang, ends_q: bool) -> bool:
    if lang == "zh":
        if clause.endswith("吗") or clause.endswith("么"):
            return True
        return ends_q and (bool(_ZH_Q_WORDS.search(clause)) or not clause.startswith("我"))
    if _EN_Q_START.match(clause):
        return True
    return ends_q and not _EN_FIRST_PERSON.match(clause)


_RULES: tuple[Callable[[_Ctx], _Hit | None], ...] = (_change, _personal, _preference, _plan, _habit)


def _analyse(clause: str, lang: Lang, question: bool, base: datetime, remember: bool = False) -> _Hit | None:
    """The first rule that matches one cleaned clause, or None."""
    ctx = _Ctx(clause, lang, question, base, _find_times(clause, base.date()))
    hit = _retraction(ctx) or _reminder(ctx)
    if hit:
        return hit
    stripped = (_ZH_REMEMBER if lang == "zh" else _EN_REMEMBER).sub("", clause, count=1)
    if stripped != clause:
        return _analyse(stripped, lang, False, base, remember=True)
    if question:
        return _request(ctx)
    hit = _tool_report(ctx)
    for rule in _RULES:
        if hit:
            break
        hit = rule(ctx)
    if hit and remember:
        hit.confidence = min(0.9, hit.confidence + 0.05)
    if hit is None and remember:
        first_person = clause.startswith("我") if lang == "zh" else _EN_FIRST_PERSON.match(clause)
        if first_person:
            text = _render(clause, lang)
            key = _slot(clause) if re.match(r"(?i)^(?:我的|my\b)", clause) else None
            return _hit(ctx, "personal", text, 0.75, key=key)
    return hit or _request(ctx)


@dataclass
class Sentence:
    """One sentence of a user message: the whole of it (cleaned) and its clauses, each with an omitted
    first-person subject restored and a flag saying whether it is a question."""

    whole: str
    lang: Lang
    clauses: list[tuple[str, bool]]


def split_sentences(text: str, base: datetime) -> list[Sentence]:
    """Split a user message into sentences and cleaned clauses, as every offline rule sees them.

    "我今年28岁，是一名软件工程师" gives the clauses "我今年28岁" and "我是一名软件工程师"; a time alone
    ("明天上午10点，提醒我开会") is joined to the clause after it."""
    out: list[Sentence] = []
    for sentence, ends_q in _sentences(text):
        sentence = _strip_lead(sentence)
        if not sentence:
            continue
        lang: Lang = "zh" if _is_zh(sentence) else "en"
        raw_clauses = _clauses(sentence, ends_q)
        clauses: list[tuple[str, bool]] = []
        pending = ""
        subject = ""  # the previous clause's subject: "我"/"I", a family member ("我老婆"/"My wife"), or none
        for i, raw in enumerate(raw_clauses):
            clause = _clean(raw, lang)
            if lang == "zh":
                clause = _ZH_CONJ.sub("", clause)
                if subject and _ZH_INHERIT.match(clause):
                    clause = subject + clause
            else:
                clause = _EN_CONJ.sub("", clause)
                if subject == "I" and re.match(rf"(?i)^{_EN_VERB_START}\b", clause):
                    clause = "I " + clause
                elif subject and subject != "I" and _EN_THIRD_PERSON_START.match(clause):
                    clause = f"{subject} {clause}"
            if not clause:
                continue
            if _only_time(clause, base.date()) and i + 1 < len(raw_clauses):
                # "明天上午10点，提醒我开会": a time alone belongs to the clause after it.
                pending = f"{pending}{clause}{'' if lang == 'zh' else ' '}"
                continue
            clause = (pending + clause) if pending else clause
            pending = ""
            subject = _subject(clause, lang)
            clauses.append((clause, _is_question(clause, lang, ends_q and i == len(raw_clauses) - 1)))
        out.append(Sentence(_clean(sentence, lang), lang, clauses))
    return out


def _subject(clause: str, lang: Lang) -> str:
    """The subject a following clause without one inherits: a family member, the user, or none."""
    if lang == "zh":
        relative = _ZH_RELATIVE_SUBJECT.match(clause)
        return relative.group(0) if relative else ("我" if clause.startswith("我") else "")
    relative = _EN_RELATIVE_SUBJECT.match(clause)
    if relative:
        return relative.group(0)
    return "I" if _EN_FIRST_PERSON.match(clause) else ""


def _message_hits(msg: ExtractMessage) -> list[_Hit]:
    hits: list[_Hit] = []
    base = msg.created_at
    for sentence in split_sentences(msg.content, base):
        whole = sentence.whole
        # Some rules span a comma ("我不喝咖啡了，现在只喝茶"): try the whole sentence first.
        ctx = _Ctx(whole, sentence.lang, False, base, _find_times(whole, base.date()))
        hit = _change(ctx) if whole else None
        if hit and hit.text:
            hits.append(hit)
            continue
        for clause, question in sentence.clauses:
            hit = _analyse(clause, sentence.lang, question, base)
            if hit and hit.text:
                hits.append(hit)
    return hits


# Tool messages ------------------------------------------------------------------------------------

_FAIL_WORDS = re.compile(
    r"(?i)\b(?:error|errors|failed|failure|fails|exception|traceback|timed?\s*out|timeout|denied|not\s+found|"
    r"refused|invalid|cannot|can't|unable)\b|exit\s+(?:code|status)\s*[1-9]|失败|错误|报错|异常|超时|拒绝"
)
_OK_WORDS = re.compile(r"(?i)\b(?:success|succeeded|successful|passed|ok|done|completed|finished)\b|成功|通过|完成")


def _tool_message_hit(msg: ExtractMessage) -> _Hit | None:
    content = msg.content.strip()
    if not content:
        return None
    name: str | None = None
    detail = content
    success: bool | None = None
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        raw_name = data.get("tool") or data.get("name") or data.get("tool_name")
        name = str(raw_name) if raw_name else None
        error = data.get("error") or data.get("stderr")
        status = str(data.get("status", "")).lower()
        code = data.get("exit_code", data.get("returncode", 0))
        if error or status in ("error", "failed", "failure") or data.get("success") is False or code not in (0, None):
            success = False
            detail = str(error or data.get("message") or data.get("output") or status)
        else:
            ok = data.get("success") is True or status in ("ok", "success", "succeeded", "done", "completed")
            success = True if ok else None
            detail = str(data.get("message") or data.get("output") or data.get("result") or status)
    else:
        m = re.match(r"^\s*(?:\$\s*)?\[?(?P<name>[A-Za-z_][\w.\-]{1,40})\]?\s*[:：]\s*(?P<rest>.*)", content, re.S)
        if m:
            name, detail = m.group("name"), m.group("rest")
        if _FAIL_WORDS.search(content):
            success = False
        elif _OK_WORDS.search(content):
            success = True
    if success is None or (success and len(content) > 300):
        # No stated outcome, or a long successful result (search hits, file contents): data, not a lesson.
        return None
    name = name or "tool"
    first_line = next((line.strip() for line in detail.splitlines() if line.strip()), "")[:200]
    lang: Lang = "zh" if _is_zh(first_line) else "en"
    if lang == "zh":
        text = f"工具{name}{'执行成功' if success else '执行失败'}" + (f"：{first_line}" if first_line else "")
    else:
        text = f"Tool {name} {'succeeded' if success else 'failed'}" + (f": {first_line}" if first_line else "")
    confidence = 0.7 if success is False else 0.6
    return _Hit("tool", re.sub(r"\s+", " ", text).strip(), lang, confidence, first_line or content[:200],
                metadata={"tool": name, "success": success})


# --------------------------------------------------------------------------------------------------
# Strategies.


def _type_for(hit: _Hit, wanted: set[str]) -> str | None:
    def first(*types: str) -> str | None:
        return next((t for t in types if t in wanted), None)

    if hit.kind == "request":
        return None
    if hit.kind == "tool":
        return first("tool")
    if hit.kind in ("personal", "habit"):
        return first("fact", "profile")
    if hit.kind == "preference":
        return first("preference", "profile")
    if hit.kind in ("reminder", "plan"):
        return first("episodic", "fact")
    if hit.kind == "change":
        return first("preference", "profile") if hit.natural == "preference" else first("fact", "profile")
    # A retraction must reach consolidation whatever the store's strategies, or the memory stays.
    return first(hit.natural, "fact", "profile", "preference", "episodic")


def _reasoning(hit: _Hit) -> str:
    if hit.kind == "preference" or hit.explicit_pref:
        return f"explicit preference: the user stated it (\u201c{hit.evidence}\u201d)"
    if hit.kind == "retract":
        return f"the user asked to forget this (\u201c{hit.evidence}\u201d)"
    return f"offline rule '{hit.kind}': \u201c{hit.evidence}\u201d"


def _phrase(hit: _Hit, zh: bool) -> str:
    """What the user said, as a short phrase without the subject ("希望…", "loves sushi"). A clause in
    the other language is quoted whole rather than glued into the sentence."""
    text = hit.text
    if hit.lang != ("zh" if zh else "en"):
        return text
    if hit.kind == "retract":
        return f"要求忘记{text}" if zh else f"asked to forget {text[0].lower()}{text[1:]}"
    if zh:
        return f"提到{text}" if text.startswith("用户的") else text.removeprefix("用户")
    if text.startswith("The user's "):
        return "said their " + text.removeprefix("The user's ")
    return text.removeprefix("The user ")


def _phrases(hits: list[tuple[_Hit, str]], zh: bool) -> tuple[list[str], list[str]]:
    """The distinct phrases of the hits, in order, and the ids of the messages they come from."""
    phrases: list[str] = []
    ids: list[str] = []
    for hit, msg_id in hits:
        text = _phrase(hit, zh)
        if text not in phrases:
            phrases.append(text)
        if msg_id not in ids:
            ids.append(msg_id)
    return phrases, ids


def _mostly_zh(hits: list[tuple[_Hit, str]]) -> bool:
    return sum(1 for hit, _ in hits if hit.lang == "zh") * 2 >= len(hits)


def _episode(hits: list[tuple[_Hit, str]], when: datetime) -> CandidateMemory | None:
    """One plain sentence listing what the user said or asked, in the conversation's main language."""
    hits = [(hit, msg_id) for hit, msg_id in hits if hit.kind != "tool"]
    if not hits:
        return None
    zh = _mostly_zh(hits)
    phrases, ids = _phrases(hits, zh)
    shown = phrases[:4]
    day = when.date().isoformat()
    if zh:
        text = f"用户在{day}的对话中：" + "；".join(shown) + ("等" if len(phrases) > 4 else "")
    else:
        text = f"In a conversation on {day}, the user " + "; ".join(shown) + ("; and more" if len(phrases) > 4 else "")
    return CandidateMemory(text=text, type="episodic", confidence=0.6, source_message_ids=ids,
                           reasoning="one-sentence summary of the user's turns (offline, not an LLM summary)")


# The running summary: "用户在本次对话中：A；B；C。" / "In this conversation, the user: A; B; C." Items are
# the user's own statements, condensed, oldest first; past the caps the oldest give way to the newest.
_SUMMARY_FRAME = {"zh": ("用户在本次对话中：", "；", "。", "（前略）"),
                  "en": ("In this conversation, the user: ", "; ", ".", "(earlier points omitted) ")}
SUMMARY_MAX_CHARS = 600
SUMMARY_MAX_ITEMS = 15


def _summary_items(previous: str) -> tuple[Lang | None, list[str]]:
    """The items of a summary this extractor wrote; any other text (an LLM's summary) is one item."""
    text = previous.strip()
    for lang, (head, sep, end, omitted) in _SUMMARY_FRAME.items():
        if text.startswith(head):
            body = text.removeprefix(head).removeprefix(omitted).removesuffix(end)
            return lang, [item.strip() for item in body.split(sep.strip()) if item.strip()]  # type: ignore[return-value]
    return None, ([text] if text else [])


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", "", a).casefold() == re.sub(r"\W+", "", b).casefold()


def _running_summary(previous: str, hits: list[tuple[_Hit, str]]) -> CandidateMemory | None:
    """The previous summary with what the new messages add; None when they add nothing."""
    hits = [(hit, msg_id) for hit, msg_id in hits if hit.kind != "tool"]
    if not hits:
        return None
    lang, items = _summary_items(previous)
    zh = lang == "zh" if lang is not None else _mostly_zh(hits)
    new: list[str] = []
    ids: list[str] = []
    for hit, msg_id in hits:
        phrase = _phrase(hit, zh)
        if any(_same(phrase, known) for known in items + new):
            continue
        new.append(phrase)
        if msg_id not in ids:
            ids.append(msg_id)
    if not new:
        return None
    head, sep, end, omitted = _SUMMARY_FRAME["zh" if zh else "en"]
    items = items + new
    dropped = previous.strip().startswith(head + omitted)

    def render() -> str:
        return head + (omitted if dropped else "") + sep.join(i.rstrip("。.；;") for i in items) + end

    while len(items) > 1 and (len(items) > SUMMARY_MAX_ITEMS or len(render()) > SUMMARY_MAX_CHARS):
        items = items[1:]
        dropped = True
    text = render()
    if len(text) > SUMMARY_MAX_CHARS:  # one statement longer than the cap on its own
        text = text[: SUMMARY_MAX_CHARS - 1] + "…"
    return CandidateMemory(text=text, type="summary", confidence=0.6, source_message_ids=ids,
                           reasoning="extractive running summary of the user's statements (offline rules, not an LLM)")


class OfflineExtractor:
    """Rule-based extraction for Chinese and English: no model, no network, no key."""

    name = "offline"
    model: str | None = None

    def extract(self, data: ExtractionInput) -> ExtractionResult:
        wanted = {s.name for s in data.strategies if s.name in _BUILTINS}
        found: list[tuple[_Hit, str]] = []
        first_user: datetime | None = None
        for msg in data.messages:
            if msg.role == "user":
                first_user = first_user or msg.created_at
                found.extend((hit, msg.id) for hit in _message_hits(msg))
            elif msg.role == "tool" and "tool" in wanted:
                hit = _tool_message_hit(msg)
                if hit:
                    found.append((hit, msg.id))
        by_text: dict[str, CandidateMemory] = {}
        for hit, msg_id in found:
            kind = _type_for(hit, wanted)
            if kind is None or not hit.text:
                continue
            seen = by_text.get(hit.text)
            if seen is not None:
                if msg_id not in seen.source_message_ids:
                    seen.source_message_ids.append(msg_id)
                continue
            by_text[hit.text] = CandidateMemory(
                text=hit.text, type=kind, confidence=round(hit.confidence, 2), source_message_ids=[msg_id],
                reasoning=_reasoning(hit), key=hit.key or None, retracts=hit.kind == "retract",
                metadata=dict(hit.metadata),
            )
        candidates = list(by_text.values())
        if "episodic" in wanted and first_user is not None:
            episode = _episode([(h, i) for h, i in found if h.kind != "tool"], first_user)
            if episode is not None and episode.text not in by_text:
                candidates.append(episode)
        if "summary" in wanted:
            summary = _running_summary(data.summaries.get("summary", ""), found)
            if summary is not None:
                candidates.append(summary)
        updates = []
        if data.profile is not None:
            # Imported here: profile_rules builds on this module's clause splitting.
            from .profile_rules import profile_updates

            updates = profile_updates(data.messages, data.profile)
        return ExtractionResult(
            candidates=candidates, decisions=None, extractor=self.name, model=self.model, profile_updates=updates
        )
