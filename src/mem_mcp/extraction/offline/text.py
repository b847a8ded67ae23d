"""Sentences and clauses: a user message split as every offline rule sees it, with an omitted subject
restored and each clause flagged as a question or not."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .lexicon import EN_FIRST_PERSON, EN_RELATIVE, ZH_RELATIVE, Lang, apos, is_zh
from .times import only_time

__all__ = ["Sentence", "split_sentences"]

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
_ZH_RELATIVE_SUBJECT = re.compile(rf"^我的?{ZH_RELATIVE}")
_EN_RELATIVE_SUBJECT = re.compile(rf"(?i)^my\s+{EN_RELATIVE}\b")
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
        clause = _EN_TRAIL.sub("", apos(clause))
    return clause.strip(" \t,，、")


def _clauses(sentence: str, question: bool = False) -> list[str]:
    """Split a sentence into clauses where the next piece can stand alone (a subject or a known verb
    starts it), so "I like apples, bananas and pears" stays whole and "我叫张三，住在上海" splits. In a
    question every comma splits: "I'm vegetarian, any dinner ideas?" keeps its statement apart."""
    zh = is_zh(sentence)
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


_ZH_Q_WORDS = re.compile(
    r"什么|怎么|为什么|为啥|哪|几|多少|谁|是否|能不能|可不可以|是不是|有没有|会不会|要不要|好不好|行不行"
)
_EN_Q_START = re.compile(
    r"(?i)^(?:what|what's|how|why|when|where|who|whom|which|whose|can|could|would|will|do|does|did|is|are|am|was|were|"
    r"should|shall|may|might|has|had|isn't|aren't|don't|doesn't|didn't|won't|wouldn't|couldn't|shouldn't)\b"
)


def _is_question(clause: str, lang: Lang, ends_q: bool) -> bool:
    if lang == "zh":
        if clause.endswith("吗") or clause.endswith("么"):
            return True
        return ends_q and (bool(_ZH_Q_WORDS.search(clause)) or not clause.startswith("我"))
    if _EN_Q_START.match(clause):
        return True
    return ends_q and not EN_FIRST_PERSON.match(clause)


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
        lang: Lang = "zh" if is_zh(sentence) else "en"
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
            if only_time(clause, base.date()) and i + 1 < len(raw_clauses):
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
    return "I" if EN_FIRST_PERSON.match(clause) else ""
